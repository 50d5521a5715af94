package s3api

import (
	"net/http"
	"net/url"
	"strings"
)

// principal is who a request says it comes from. Nothing is verified: the emulator
// accepts any credentials (see the package doc); this is for logs.
type principal struct {
	Scheme    string // "sigv4", "sigv2", "cos", "presigned-sigv4", "presigned-cos", or "anonymous"
	AccessKey string
	Region    string // SigV4 credential scope only
}

// parseAuth reads the Authorization header or presigned query parameters. It never
// fails: what it cannot read it leaves empty.
func parseAuth(r *http.Request) principal {
	a := strings.TrimSpace(r.Header.Get("Authorization"))
	switch {
	case strings.HasPrefix(a, "AWS4-"):
		// AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/s3/aws4_request, SignedHeaders=…, Signature=…
		p := principal{Scheme: "sigv4"}
		_, params, _ := strings.Cut(a, " ")
		for _, kv := range strings.Split(params, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "Credential="); ok {
				p.AccessKey, p.Region = credentialScope(v)
			}
		}
		return p
	case strings.HasPrefix(a, "AWS "):
		ak, _, _ := strings.Cut(strings.TrimPrefix(a, "AWS "), ":")
		return principal{Scheme: "sigv2", AccessKey: ak}
	case strings.Contains(a, "q-sign-algorithm="):
		// q-sign-algorithm=sha1&q-ak=AK&q-sign-time=…&q-key-time=…&q-header-list=…&q-url-param-list=…&q-signature=…
		q, _ := url.ParseQuery(a)
		return principal{Scheme: "cos", AccessKey: q.Get("q-ak")}
	case a != "":
		return principal{Scheme: "unknown"}
	}
	q := r.URL.Query()
	if c := q.Get("X-Amz-Credential"); c != "" {
		ak, region := credentialScope(c)
		return principal{Scheme: "presigned-sigv4", AccessKey: ak, Region: region}
	}
	if q.Get("q-sign-algorithm") != "" {
		return principal{Scheme: "presigned-cos", AccessKey: q.Get("q-ak")}
	}
	if ak := q.Get("AWSAccessKeyId"); ak != "" {
		return principal{Scheme: "presigned-sigv2", AccessKey: ak}
	}
	return principal{Scheme: "anonymous"}
}

// credentialScope splits "AK/date/region/service/aws4_request".
func credentialScope(s string) (accessKey, region string) {
	parts := strings.Split(s, "/")
	if len(parts) >= 3 {
		region = parts[2]
	}
	return parts[0], region
}
