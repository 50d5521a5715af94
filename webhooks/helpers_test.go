package webhooks

import "log/slog"

var slogDiscard = slog.New(slog.DiscardHandler)
