package s3api

import (
	"encoding/xml"
	"net/http"
	"strconv"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

type initiateResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Bucket   string
	Key      string
	UploadId string
}

func (h *Handler) createMultipartUpload(c *call) {
	ct := c.r.Header.Get("Content-Type")
	if ct == "" {
		ct = "binary/octet-stream"
	}
	id, err := h.b.CreateMultipartUpload(c.r.Context(), c.bucket, c.key, ct)
	if err != nil {
		h.fail(c, err)
		return
	}
	if alg := c.r.Header.Get("x-amz-checksum-algorithm"); alg != "" {
		c.w.Header().Set("x-amz-checksum-algorithm", alg)
	}
	h.writeXML(c, http.StatusOK, initiateResult{Xmlns: s3NS, Bucket: c.bucket, Key: c.key, UploadId: id})
}

func (h *Handler) uploadPart(c *call) {
	q := c.r.URL.Query()
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > storage.MaxPartNumber {
		h.fail(c, storage.New(storage.CodeInvalidArgument, "Part number must be an integer between 1 and 10000, inclusive"))
		return
	}
	b, err := readBody(c.r, h.cfg.MaxObjectSize)
	if err != nil {
		h.fail(c, err)
		return
	}
	info, err := h.b.UploadPart(c.r.Context(), c.bucket, c.key, q.Get("uploadId"), n, b, b.size)
	if err != nil {
		h.fail(c, err)
		return
	}
	answerStored(c, info, b)
}

// completeRequest is the body of CompleteMultipartUpload. Part checksums
// (ChecksumCRC32…) are accepted and ignored: each part was verified when uploaded.
type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int
		ETag       string
	} `xml:"Part"`
}

// parseComplete decodes a CompleteMultipartUpload body.
func parseComplete(data []byte) ([]storage.CompletedPart, error) {
	var req completeRequest
	if err := xml.Unmarshal(data, &req); err != nil || len(req.Parts) == 0 {
		return nil, malformedXML()
	}
	if len(req.Parts) > storage.MaxPartNumber {
		return nil, storage.New(storage.CodeInvalidArgument, "Too many parts: at most 10000.")
	}
	parts := make([]storage.CompletedPart, len(req.Parts))
	for i, p := range req.Parts {
		parts[i] = storage.CompletedPart{Number: p.PartNumber, ETag: p.ETag}
	}
	return parts, nil
}

type completeResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Location string
	Bucket   string
	Key      string
	ETag     string
}

func (h *Handler) completeMultipartUpload(c *call) {
	data, err := h.readXMLBody(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	parts, err := parseComplete(data)
	if err != nil {
		h.fail(c, err)
		return
	}
	info, err := h.b.CompleteMultipartUpload(c.r.Context(), c.bucket, c.key, c.r.URL.Query().Get("uploadId"), parts)
	if err != nil {
		h.fail(c, err)
		return
	}
	if info.Checksums.CRC64ECMA != "" {
		c.w.Header().Set("x-cos-hash-crc64ecma", info.Checksums.CRC64ECMA)
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	h.writeXML(c, http.StatusOK, completeResult{
		Xmlns: s3NS, Location: scheme + "://" + c.r.Host + c.r.URL.EscapedPath(),
		Bucket: c.bucket, Key: c.key, ETag: quoteETag(info.ETag),
	})
}

func (h *Handler) abortMultipartUpload(c *call) {
	if err := h.b.AbortMultipartUpload(c.r.Context(), c.bucket, c.key, c.r.URL.Query().Get("uploadId")); err != nil {
		h.fail(c, err)
		return
	}
	c.status = http.StatusNoContent
	c.w.WriteHeader(http.StatusNoContent)
}
