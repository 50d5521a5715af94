// Package webhooks signs TRTC event callbacks and delivers them from an outbox with TRTC's
// retry policy (seed: "Event Callbacks", "Timeout and Retry"): a POST of the stored body
// stamped with the attempt's send time (CallbackTs), Sign = base64(HMAC-SHA256(key, body))
// over those exact bytes, success only on HTTP 200 within 5 s, one immediate retry, then
// retries on a 10 s grid from the first attempt, the last at +60 s.
//
// The Dispatcher is a scheduler, not a pool of sleeping workers: every event carries its
// own next-attempt time in the outbox, so a backlog neither stretches nor shrinks any
// event's one-minute window. Every event is delivered on its own (receivers reorder by
// EventMsTs); only events sharing a lane (an application's strict order option) are
// delivered one at a time, in order. Outcomes are recorded in batches. Delivery is at
// least once: an attempt whose outcome could not be recorded is made again.
//
// Outbound connections go through a Guard that checks the resolved address at dial time,
// so a callback URL cannot reach cloud metadata (169.254.169.254) or other refused ranges.
//
// It does not decide which events happen or build their bodies (models writes the outbox
// rows in the transaction of the state change), and imports nothing of ours but
// internal/clock.
package webhooks
