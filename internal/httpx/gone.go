package httpx

import (
	"context"
	"errors"
	"log/slog"
)

// ClientGone reports whether err is the request's own context ending: the
// client closed the connection or gave up, and the work it asked for was
// cut short. That is the client's doing, not a fault of the server.
func ClientGone(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// LogFailure logs a request's unexpected failure at error level, or at info
// level when the client went away (ClientGone), so that an operator's error
// count and alerts follow the server's faults, not its clients' patience.
func LogFailure(ctx context.Context, log *slog.Logger, msg string, err error, args ...any) {
	level := slog.LevelError
	if ClientGone(ctx, err) {
		level, msg = slog.LevelInfo, msg+": client went away"
	}
	log.Log(ctx, level, msg, append([]any{"err", err}, args...)...)
}
