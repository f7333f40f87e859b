package tracehttp

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
)

// resourceOf names the service in every exported span.
func resourceOf(service string) *resource.Resource {
	return resource.NewSchemaless(attribute.String("service.name", service))
}
