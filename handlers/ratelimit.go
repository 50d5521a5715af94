package handlers

import (
	"sync"

	"golang.org/x/time/rate"
)

// rateLimiter is a token bucket per action and caller (seed: "The rate limit for the
// recording API is 20 calls per second"; 20/s is also Tencent's common default).
type rateLimiter struct {
	perSecond float64
	perAction map[string]float64
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
}

func newRateLimiter(perSecond float64, perAction map[string]float64) *rateLimiter {
	return &rateLimiter{perSecond: perSecond, perAction: perAction, buckets: map[string]*rate.Limiter{}}
}

// allow takes a token for (action, caller); it returns the limit when none is left.
func (l *rateLimiter) allow(action, caller string) (ok bool, limit float64) {
	limit = l.perSecond
	if v, set := l.perAction[action]; set {
		limit = v
	}
	if limit <= 0 {
		return true, 0
	}
	key := action + "\x00" + caller
	l.mu.Lock()
	b, found := l.buckets[key]
	if !found {
		burst := int(limit)
		if burst < 1 {
			burst = 1
		}
		b = rate.NewLimiter(rate.Limit(limit), burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	return b.Allow(), limit
}
