package s3api

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

func (h *Handler) putObject(c *call) {
	b, err := readBody(c.r, h.cfg.MaxObjectSize)
	if err != nil {
		h.fail(c, err)
		return
	}
	ct := c.r.Header.Get("Content-Type")
	if ct == "" {
		ct = "binary/octet-stream" // S3's default
	}
	info, err := h.b.PutObject(c.r.Context(), c.bucket, c.key, b, b.size, ct)
	if err != nil {
		h.fail(c, err)
		return
	}
	answerStored(c, info, b)
}

func (h *Handler) deleteObject(c *call) {
	if err := h.b.Delete(c.r.Context(), c.bucket, c.key); err != nil {
		h.fail(c, err)
		return
	}
	c.status = http.StatusNoContent
	c.w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) headObject(c *call) {
	info, err := h.b.Head(c.r.Context(), c.bucket, c.key)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.serveObject(c, info, nil)
}

func (h *Handler) getObject(c *call) {
	rc, info, err := h.b.Get(c.r.Context(), c.bucket, c.key)
	if err != nil {
		h.fail(c, err)
		return
	}
	defer rc.Close()
	h.serveObject(c, info, rc)
}

// serveObject answers GET (content != nil) and HEAD: conditions, one byte range, the
// headers S3 and COS send, and the response-* query overrides.
func (h *Handler) serveObject(c *call, info storage.ObjectInfo, content io.Reader) {
	hd := c.w.Header()
	etag := quoteETag(info.ETag)
	hd.Set("ETag", etag)
	hd.Set("Last-Modified", info.LastModified.UTC().Format(http.TimeFormat))
	hd.Set("Accept-Ranges", "bytes")
	ct := info.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	hd.Set("Content-Type", ct)

	if st := checkConditions(c.r, etag, info.LastModified); st != 0 {
		if st == http.StatusPreconditionFailed {
			h.fail(c, storage.New(storage.CodePreconditionFailed, "At least one of the pre-conditions you specified did not hold"))
			return
		}
		c.status = st
		c.w.WriteHeader(st)
		return
	}

	q := c.r.URL.Query()
	for param, header := range map[string]string{
		"response-content-type": "Content-Type", "response-content-disposition": "Content-Disposition",
		"response-content-encoding": "Content-Encoding", "response-content-language": "Content-Language",
		"response-cache-control": "Cache-Control", "response-expires": "Expires",
	} {
		if v := q.Get(param); v != "" {
			hd.Set(header, v)
		}
	}

	start, n, partial, err := parseRange(c.r.Header.Get("Range"), info.Size)
	if err != nil {
		hd.Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
		h.fail(c, err)
		return
	}
	st := http.StatusOK
	if partial {
		st = http.StatusPartialContent
		hd.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+n-1, 10)+"/"+strconv.FormatInt(info.Size, 10))
	} else {
		if info.Checksums.CRC64ECMA != "" {
			hd.Set("x-cos-hash-crc64ecma", info.Checksums.CRC64ECMA)
		}
		if strings.EqualFold(c.r.Header.Get("x-amz-checksum-mode"), "ENABLED") && info.Checksums.CRC32 != "" {
			hd.Set("x-amz-checksum-crc32", info.Checksums.CRC32)
			hd.Set("x-amz-checksum-type", "FULL_OBJECT")
		}
	}
	hd.Set("Content-Length", strconv.FormatInt(n, 10))
	c.status = st
	c.w.WriteHeader(st)
	if content == nil {
		return
	}
	if start > 0 {
		if s, ok := content.(io.Seeker); ok {
			if _, err := s.Seek(start, io.SeekStart); err != nil {
				return
			}
		} else if _, err := io.CopyN(io.Discard, content, start); err != nil {
			return
		}
	}
	io.CopyN(c.w, content, n) // a client that goes away ends the copy
}

// parseRange reads a Range header: S3 honours one range of the forms bytes=a-b, bytes=a-
// and bytes=-n, and ignores what it cannot parse (serving the whole object).
func parseRange(s string, size int64) (start, n int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(s, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, size, false, nil
	}
	unsatisfiable := storage.New(storage.CodeInvalidRange, "The requested range is not satisfiable")
	if first == "" { // suffix: the last n bytes
		k, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil || k < 0 {
			return 0, size, false, nil
		}
		if k == 0 || size == 0 {
			return 0, 0, false, unsatisfiable
		}
		k = min(k, size)
		return size - k, k, true, nil
	}
	a, perr := strconv.ParseInt(first, 10, 64)
	if perr != nil || a < 0 {
		return 0, size, false, nil
	}
	b := size - 1
	if last != "" {
		b, perr = strconv.ParseInt(last, 10, 64)
		if perr != nil || b < a {
			return 0, size, false, nil
		}
	}
	if a >= size {
		return 0, 0, false, unsatisfiable
	}
	b = min(b, size-1)
	return a, b - a + 1, true, nil
}

// checkConditions evaluates If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since in RFC 9110's order; it returns 0, 304 or 412.
func checkConditions(r *http.Request, etag string, modified time.Time) int {
	modified = modified.Truncate(time.Second)
	if im := r.Header.Get("If-Match"); im != "" {
		if !etagListMatches(im, etag) {
			return http.StatusPreconditionFailed
		}
	} else if ius := r.Header.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && modified.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagListMatches(inm, etag) {
			return http.StatusNotModified
		}
	} else if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !modified.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

func etagListMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimPrefix(strings.TrimSpace(e), "W/")
		if e == "*" || strings.Trim(e, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}
