// Package webhooks builds TRTC event callback bodies per event group, signs them
// (Sign = base64(HMAC-SHA256(key, body))) and delivers them with TRTC's retry policy from
// the models outbox. It does not decide which events happen; models records them.
//
// Only the signature exists so far; the envelopes and the dispatcher come with rooms and
// callbacks (issue 3).
package webhooks
