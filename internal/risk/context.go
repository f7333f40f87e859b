package risk

import "context"

type userAgentKey struct{}

// WithUserAgent carries the client's user agent to the services that
// assess or record an attempt without an HTTP request of their own.
func WithUserAgent(ctx context.Context, ua string) context.Context {
	if len(ua) > 512 {
		ua = ua[:512]
	}
	return context.WithValue(ctx, userAgentKey{}, ua)
}

// UserAgent answers the user agent WithUserAgent carried ("" for none).
func UserAgent(ctx context.Context) string {
	ua, _ := ctx.Value(userAgentKey{}).(string)
	return ua
}
