package jobs

import (
	"context"
	"time"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/webhooks"
)

// CallbackOutbox is the models outbox as the webhooks dispatcher reads it.
type CallbackOutbox struct {
	Store CallbackStore
}

var _ webhooks.NewEventsOutbox = CallbackOutbox{}

func (o CallbackOutbox) Due(ctx context.Context, now time.Time, inFlight map[int64]bool, limit int) ([]webhooks.Event, error) {
	rows, err := o.Store.DueCallbacks(ctx, now, inFlight, limit)
	return toEvents(rows), err
}

func (o CallbackOutbox) LastID(ctx context.Context) (int64, error) {
	return o.Store.LastCallbackID(ctx)
}

func (o CallbackOutbox) New(ctx context.Context, after int64, limit int) ([]webhooks.Event, error) {
	rows, err := o.Store.NewCallbacks(ctx, after, limit)
	return toEvents(rows), err
}

func toEvents(rows []models.CallbackEvent) []webhooks.Event {
	events := make([]webhooks.Event, len(rows))
	for i, r := range rows {
		events[i] = webhooks.Event{ID: r.ID, Lane: r.Lane, SdkAppId: r.SdkAppId, URL: r.Url, Key: r.Key,
			Body: r.Body, TimestampField: models.TimestampField(r.EventGroupId), Attempts: r.Attempts,
			DueAt: time.UnixMilli(r.NextAttemptAtMs)}
		if r.FirstAttemptAtMs != nil {
			events[i].FirstAttemptAt = time.UnixMilli(*r.FirstAttemptAtMs)
		}
	}
	return events
}

func (o CallbackOutbox) Record(ctx context.Context, batch []webhooks.Outcome) error {
	rows := make([]models.CallbackOutcome, len(batch))
	for i, out := range batch {
		rows[i] = models.CallbackOutcome{EventId: out.EventID, At: out.At, Duration: out.Duration,
			Body: out.Body, Sign: out.Sign, StatusCode: out.StatusCode, Error: out.Error,
			State: models.CallbackState(out.State), NextAttemptAt: out.NextAttemptAt}
	}
	return o.Store.RecordCallbackAttempts(ctx, rows)
}

func (o CallbackOutbox) NextDue(ctx context.Context, after time.Time) (time.Time, bool, error) {
	return o.Store.NextCallbackDue(ctx, after)
}
