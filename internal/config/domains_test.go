package config

func init() {
	contract = append(contract, []struct {
		yaml, env, flag, value string
		apply                  func(c *Config)
	}{
		{"tls.mode", "GATEHOUSE_TLS", "tls", "ACME", func(c *Config) { c.TLS.Mode = "acme" }},
		{"tls.acme_ca", "GATEHOUSE_TLS_ACME_CA", "tls-acme-ca", "https://ca.test/dir", func(c *Config) { c.Domains.ACMECA = "https://ca.test/dir" }},
		{"tls.acme_email", "GATEHOUSE_TLS_ACME_EMAIL", "tls-acme-email", "ops@acme.test", func(c *Config) { c.Domains.ACMEEmail = "ops@acme.test" }},
		{"dev_resolve", "GATEHOUSE_DEV_RESOLVE", "dev-resolve", "a.test=127.0.0.1:8080", func(c *Config) { c.Domains.DevResolve = "a.test=127.0.0.1:8080" }},
		{"otel.endpoint", "GATEHOUSE_OTEL_ENDPOINT", "otel-endpoint", "http://127.0.0.1:4318", func(c *Config) { c.Domains.OTelEndpoint = "http://127.0.0.1:4318" }},
	}...)
}
