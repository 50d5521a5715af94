// Package cam authenticates Tencent Cloud API callers: it verifies TC3-HMAC-SHA256 and
// the legacy HmacSHA1/HmacSHA256 request signatures against API keys it is handed.
// Policy documents and their evaluation come later. It does not know HTTP routing or
// the database: callers pass the request's parts and a key lookup.
package cam
