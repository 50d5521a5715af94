package s3api

import (
	"encoding/xml"
	"io"
	"net/http"

	"github.com/trtc-emulator/trtc-emulator/storage"
)

type listAllMyBucketsResult struct {
	XMLName xml.Name `xml:"ListAllMyBucketsResult"`
	Xmlns   string   `xml:"xmlns,attr"`
	Owner   owner
	Buckets []bucketXML `xml:"Buckets>Bucket"`
}

type bucketXML struct {
	Name         string
	CreationDate string
	BucketRegion string `xml:",omitempty"`
	Location     string `xml:",omitempty"` // COS's name for it
}

func (h *Handler) listBuckets(c *call) {
	bs, err := h.b.ListBuckets(c.r.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	res := listAllMyBucketsResult{Xmlns: s3NS, Owner: theOwner, Buckets: []bucketXML{}}
	for _, b := range bs {
		res.Buckets = append(res.Buckets, bucketXML{Name: b.Name, CreationDate: s3Time(b.Created), BucketRegion: h.cfg.Region, Location: h.cfg.Region})
	}
	h.writeXML(c, http.StatusOK, res)
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	Xmlns   string   `xml:"xmlns,attr"`
	Region  string   `xml:",chardata"`
}

func (h *Handler) getBucketLocation(c *call) {
	if err := h.b.HeadBucket(c.r.Context(), c.bucket); err != nil {
		h.fail(c, err)
		return
	}
	region := h.cfg.Region
	if region == "us-east-1" {
		region = "" // S3 reports its first region as empty
	}
	h.writeXML(c, http.StatusOK, locationConstraint{Xmlns: s3NS, Region: region})
}

func (h *Handler) headBucket(c *call) {
	if err := h.b.HeadBucket(c.r.Context(), c.bucket); err != nil {
		h.fail(c, err)
		return
	}
	c.w.Header().Set("x-amz-bucket-region", h.cfg.Region)
	c.status = http.StatusOK
	c.w.WriteHeader(http.StatusOK)
}

// createBucket succeeds for an existing bucket too (as S3 in us-east-1); the optional
// CreateBucketConfiguration body is read and ignored.
func (h *Handler) createBucket(c *call) {
	if _, err := io.Copy(io.Discard, io.LimitReader(c.r.Body, h.cfg.MaxXMLSize+1)); err != nil {
		h.fail(c, storage.ErrIncompleteBody())
		return
	}
	if err := h.b.CreateBucket(c.r.Context(), c.bucket); err != nil {
		h.fail(c, err)
		return
	}
	c.w.Header().Set("Location", "/"+c.bucket)
	c.status = http.StatusOK
	c.w.WriteHeader(http.StatusOK)
}

func (h *Handler) deleteBucket(c *call) {
	if err := h.b.DeleteBucket(c.r.Context(), c.bucket); err != nil {
		h.fail(c, err)
		return
	}
	c.status = http.StatusNoContent
	c.w.WriteHeader(http.StatusNoContent)
}

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool
	Objects []struct {
		Key string
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name         `xml:"DeleteResult"`
	Xmlns   string           `xml:"xmlns,attr"`
	Deleted []deletedXML     `xml:"Deleted"`
	Errors  []deleteErrorXML `xml:"Error"`
}

type deletedXML struct{ Key string }

type deleteErrorXML struct{ Key, Code, Message string }

// deleteObjects is S3's multi-object delete (POST /bucket?delete), up to 1000 keys.
func (h *Handler) deleteObjects(c *call) {
	data, err := h.readXMLBody(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	var req deleteRequest
	if err := xml.Unmarshal(data, &req); err != nil {
		h.fail(c, malformedXML())
		return
	}
	if len(req.Objects) == 0 || len(req.Objects) > storage.MaxListKeys {
		h.fail(c, malformedXML())
		return
	}
	if err := h.b.HeadBucket(c.r.Context(), c.bucket); err != nil {
		h.fail(c, err)
		return
	}
	res := deleteResult{Xmlns: s3NS}
	for _, o := range req.Objects {
		if err := h.b.Delete(c.r.Context(), c.bucket, o.Key); err != nil {
			e, ok := storage.As(err)
			if !ok {
				h.log.Error("s3api: DeleteObjects", "bucket", c.bucket, "key", o.Key, "err", err)
				e = storage.New(storage.CodeInternalError, "We encountered an internal error. Please try again.")
			}
			res.Errors = append(res.Errors, deleteErrorXML{Key: o.Key, Code: e.Code, Message: e.Message})
		} else if !req.Quiet {
			res.Deleted = append(res.Deleted, deletedXML{Key: o.Key})
		}
	}
	h.writeXML(c, http.StatusOK, res)
}

func malformedXML() *storage.Error {
	return storage.New(storage.CodeMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
}

// readXMLBody reads an XML request body of at most MaxXMLSize bytes, verifying its
// Content-MD5 and x-amz-checksum-* like any body.
func (h *Handler) readXMLBody(c *call) ([]byte, error) {
	b, err := readBody(c.r, h.cfg.MaxXMLSize)
	if err != nil {
		if storage.IsCode(err, storage.CodeEntityTooLarge) {
			return nil, storage.New(storage.CodeMalformedXML, "The XML you provided was larger than the maximum allowed size.")
		}
		return nil, err
	}
	data, err := io.ReadAll(b)
	if err != nil {
		if _, ok := storage.As(err); ok {
			return nil, err
		}
		if err == errBodyTooLarge {
			return nil, storage.New(storage.CodeMalformedXML, "The XML you provided was larger than the maximum allowed size.")
		}
		return nil, storage.ErrIncompleteBody()
	}
	return data, nil
}
