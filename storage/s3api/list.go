package s3api

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

// listing is one page of a listing with a delimiter folded in.
type listing struct {
	objects   []storage.ObjectInfo
	prefixes  []string
	truncated bool
	last      string // the last key or common prefix returned
	after     string // where the next page starts (exclusive)
}

// list pages through the backend from startAfter, rolling keys that contain delimiter
// after prefix into common prefixes, until maxKeys entries (keys and prefixes together)
// are found. When skipMarkerGroup is set and startAfter is itself a common prefix, its
// keys are skipped: S3's V1 NextMarker is the last common prefix, and the next page
// must not return it again.
func list(ctx context.Context, b storage.Store, bucket, prefix, delimiter, startAfter string, maxKeys int, skipMarkerGroup bool) (listing, error) {
	var l listing
	after := startAfter
	skip := "" // keys with this prefix belong to a common prefix already handled
	if skipMarkerGroup && delimiter != "" && strings.HasPrefix(startAfter, prefix) &&
		strings.HasSuffix(startAfter, delimiter) && strings.Index(startAfter[len(prefix):], delimiter) == len(startAfter)-len(prefix)-len(delimiter) {
		skip = startAfter
	}
	count := 0
	for {
		page, more, err := b.List(ctx, bucket, prefix, after, storage.DefaultListMax)
		if err != nil {
			return l, err
		}
		for _, o := range page {
			after = o.Key
			if skip != "" && strings.HasPrefix(o.Key, skip) {
				continue
			}
			cp := ""
			if delimiter != "" {
				if i := strings.Index(o.Key[len(prefix):], delimiter); i >= 0 {
					cp = o.Key[:len(prefix)+i+len(delimiter)]
				}
			}
			if count == maxKeys {
				l.truncated = true
				return l, nil
			}
			count++
			if cp != "" {
				l.prefixes = append(l.prefixes, cp)
				l.last, l.after = cp, cp+"\xff" // no valid UTF-8 key has cp+"\xff" as a prefix
				skip = cp
			} else {
				l.objects = append(l.objects, o)
				l.last, l.after = o.Key, o.Key
			}
		}
		if !more || len(page) == 0 {
			return l, nil
		}
		if skip != "" && strings.HasPrefix(after, skip) {
			after = skip + "\xff" // jump over the rest of the group
		}
	}
}

type listBucketResult struct {
	XMLName               xml.Name `xml:"ListBucketResult"`
	Xmlns                 string   `xml:"xmlns,attr"`
	Name                  string
	Prefix                string
	Marker                *string `xml:",omitempty"`
	NextMarker            string  `xml:",omitempty"`
	ContinuationToken     string  `xml:",omitempty"`
	NextContinuationToken string  `xml:",omitempty"`
	StartAfter            string  `xml:",omitempty"`
	KeyCount              *int    `xml:",omitempty"`
	MaxKeys               int
	Delimiter             string `xml:",omitempty"`
	EncodingType          string `xml:",omitempty"`
	IsTruncated           bool
	Contents              []contentXML
	CommonPrefixes        []commonPrefixXML
}

type contentXML struct {
	Key          string
	LastModified string
	ETag         string
	Size         int64
	Owner        *owner `xml:",omitempty"`
	StorageClass string
}

type commonPrefixXML struct{ Prefix string }

// listParams are the query parameters both listing versions share.
type listParams struct {
	prefix, delimiter string
	maxKeys           int
	encode            func(string) string
}

func parseListParams(q url.Values) (listParams, error) {
	p := listParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), maxKeys: storage.MaxListKeys, encode: func(s string) string { return s }}
	if s := q.Get("max-keys"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return p, storage.New(storage.CodeInvalidArgument, "Provided max-keys not an integer or within integer range")
		}
		p.maxKeys = min(n, storage.MaxListKeys)
	}
	switch q.Get("encoding-type") {
	case "":
	case "url":
		p.encode = encodeKey
	default:
		return p, storage.New(storage.CodeInvalidArgument, "Invalid Encoding Method specified in Request")
	}
	return p, nil
}

func (p listParams) result(bucket string, l listing) listBucketResult {
	res := listBucketResult{
		Xmlns: s3NS, Name: bucket, Prefix: p.encode(p.prefix), MaxKeys: p.maxKeys,
		Delimiter: p.encode(p.delimiter), IsTruncated: l.truncated,
		Contents: []contentXML{}, CommonPrefixes: []commonPrefixXML{},
	}
	if p.encode("%") != "%" {
		res.EncodingType = "url"
	}
	for _, o := range l.objects {
		res.Contents = append(res.Contents, contentXML{
			Key: p.encode(o.Key), LastModified: s3Time(o.LastModified), ETag: quoteETag(o.ETag),
			Size: o.Size, StorageClass: "STANDARD",
		})
	}
	for _, cp := range l.prefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, commonPrefixXML{p.encode(cp)})
	}
	return res
}

// listObjectsV1 is GET /bucket (marker paging), what cos-go-sdk-v5's Bucket.Get uses.
func (h *Handler) listObjectsV1(c *call) {
	q := c.r.URL.Query()
	p, err := parseListParams(q)
	if err != nil {
		h.fail(c, err)
		return
	}
	marker := q.Get("marker")
	l, err := list(c.r.Context(), h.b, c.bucket, p.prefix, p.delimiter, marker, p.maxKeys, true)
	if err != nil {
		h.fail(c, err)
		return
	}
	res := p.result(c.bucket, l)
	m := p.encode(marker)
	res.Marker = &m
	if l.truncated {
		res.NextMarker = p.encode(l.last) // S3 sends it only with a delimiter; COS always
	}
	for i := range res.Contents {
		res.Contents[i].Owner = &theOwner
	}
	h.writeXML(c, http.StatusOK, res)
}

// listObjectsV2 is GET /bucket?list-type=2 (continuation tokens).
func (h *Handler) listObjectsV2(c *call) {
	q := c.r.URL.Query()
	p, err := parseListParams(q)
	if err != nil {
		h.fail(c, err)
		return
	}
	startAfter := q.Get("start-after")
	token := q.Get("continuation-token")
	if _, ok := q["continuation-token"]; ok {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || token == "" {
			h.fail(c, storage.New(storage.CodeInvalidArgument, "The continuation token provided is incorrect"))
			return
		}
		startAfter = string(after)
	}
	l, err := list(c.r.Context(), h.b, c.bucket, p.prefix, p.delimiter, startAfter, p.maxKeys, false)
	if err != nil {
		h.fail(c, err)
		return
	}
	res := p.result(c.bucket, l)
	n := len(l.objects) + len(l.prefixes)
	res.KeyCount = &n
	res.ContinuationToken = token
	res.StartAfter = p.encode(q.Get("start-after"))
	if l.truncated {
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(l.after))
	}
	if q.Get("fetch-owner") == "true" {
		for i := range res.Contents {
			res.Contents[i].Owner = &theOwner
		}
	}
	h.writeXML(c, http.StatusOK, res)
}
