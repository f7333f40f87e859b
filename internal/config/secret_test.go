package config

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// testKey contains 0xfb and 0xff bytes so its encodings use "+", "/", "-"
// and "_": the standard and URL-safe forms differ.
var (
	testKey       = append(bytes.Repeat([]byte{0xfb, 0xff, 0x7e}, 10), 0x42, 0x43)
	testKeyStd    = base64.StdEncoding.EncodeToString(testKey)
	testKeyStdRaw = base64.RawStdEncoding.EncodeToString(testKey)
	testKeyURL    = base64.URLEncoding.EncodeToString(testKey)
	testKeyURLRaw = base64.RawURLEncoding.EncodeToString(testKey)
)

// assertNoLeak fails if out contains secret or a 12-character piece of it.
func assertNoLeak(t *testing.T, what, out, secret string) {
	t.Helper()
	for i := 0; i+12 <= len(secret); i += 4 {
		if strings.Contains(out, secret[i:i+12]) {
			t.Errorf("%s leaks the master key: %s", what, out)
			return
		}
	}
}

func TestMasterKeyBytes(t *testing.T) {
	if !strings.ContainsAny(testKeyStd, "+/") || !strings.ContainsAny(testKeyURL, "-_") {
		t.Fatalf("test key encodings do not exercise both alphabets: %s %s", testKeyStd, testKeyURL)
	}
	tests := []struct {
		name, key string
		want      []byte
		wantErr   string
	}{
		{"unset", "", nil, ""},
		{"std padded", testKeyStd, testKey, ""},
		{"std unpadded", testKeyStdRaw, testKey, ""},
		{"url-safe padded", testKeyURL, testKey, ""},
		{"url-safe unpadded", testKeyURLRaw, testKey, ""},
		{"16 bytes", base64.StdEncoding.EncodeToString(testKey[:16]), nil, "decodes to 16 bytes, want 32"},
		{"33 bytes", base64.RawURLEncoding.EncodeToString(append(testKey, 1)), nil, "decodes to 33 bytes, want 32"},
		{"bad base64", "not*base64!" + testKeyStd[11:], nil, "is not valid base64"},
		{"mixed alphabets", testKeyStd[:20] + "-" + testKeyStd[21:], nil, "is not valid base64"},
		{"embedded newline", testKeyStd[:20] + "\n" + testKeyStd[20:], nil, "is not valid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Config{MasterKey: Secret(tt.key)}.MasterKeyBytes()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				assertNoLeak(t, "MasterKeyBytes error", err.Error(), tt.key)
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) || (tt.want == nil) != (got == nil) {
				t.Errorf("= %x, %v; want %x, nil", got, err, tt.want)
			}
		})
	}
}

// TestMasterKeyNotPrinted checks every way a Config is commonly printed.
func TestMasterKeyNotPrinted(t *testing.T) {
	for _, key := range []string{testKeyStd, testKeyURLRaw} {
		cfg, _, err := load(t, input{args: []string{"--master-key", key}})
		if err != nil {
			t.Fatal(err)
		}
		if string(cfg.MasterKey) != key {
			t.Fatalf("MasterKey not loaded")
		}
		outputs := map[string]string{}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			outputs["fmt "+verb] = fmt.Sprintf(verb, cfg)
			outputs["fmt "+verb+" of key"] = fmt.Sprintf(verb, cfg.MasterKey)
		}
		outputs["fmt %v of pointer"] = fmt.Sprintf("%+v", &cfg)
		js, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		outputs["json"] = string(js)
		var jsonLog, textLog bytes.Buffer
		slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("config", "config", cfg, "key", cfg.MasterKey)
		slog.New(slog.NewTextHandler(&textLog, nil)).Info("config", "config", cfg)
		outputs["slog json"] = jsonLog.String()
		outputs["slog text"] = textLog.String()
		for what, out := range outputs {
			assertNoLeak(t, what, out, key)
		}
		if !strings.Contains(outputs["fmt %+v"], "MasterKey:[REDACTED]") {
			t.Errorf("%%+v does not show the key as redacted: %s", outputs["fmt %+v"])
		}
		if !strings.Contains(jsonLog.String(), `"master_key":"[REDACTED]"`) {
			t.Errorf("slog JSON does not show the key as redacted: %s", jsonLog.String())
		}
	}
	if s := fmt.Sprint(Config{}.MasterKey); s != "" {
		t.Errorf("unset key prints as %q, want empty", s)
	}
}

// TestMasterKeyNotInFlagOutput checks the flag's value and the help text.
func TestMasterKeyNotInFlagOutput(t *testing.T) {
	var help bytes.Buffer
	fs := newTestFlagSet(&help)
	RegisterFlags(fs)
	if err := fs.Parse([]string{"--master-key=" + testKeyStd}); err != nil {
		t.Fatal(err)
	}
	fs.PrintDefaults()
	assertNoLeak(t, "flag help", help.String(), testKeyStd)
	assertNoLeak(t, "flag value", fs.Lookup("master-key").Value.String(), testKeyStd)
}

// TestBadMasterKeyNotInError loads invalid keys from every source and checks
// that the error names the key but not its value.
func TestBadMasterKeyNotInError(t *testing.T) {
	bad := map[string]string{
		"wrong length": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("secret-bytes"), 2)),
		"bad base64":   "s3cr3t!not*base64" + testKeyStd[17:],
	}
	for name, key := range bad {
		for source, in := range map[string]input{
			"yaml": {yaml: "master_key: " + yamlQuote(key) + "\n"},
			"env":  {env: map[string]string{"GATEHOUSE_MASTER_KEY": key}},
			"flag": {args: []string{"--master-key", key}},
		} {
			t.Run(name+"/"+source, func(t *testing.T) {
				_, _, err := load(t, in)
				if err == nil {
					t.Fatal("no error")
				}
				assertNoLeak(t, "Error()", err.Error(), key)
				assertNoLeak(t, "%+v of problems", fmt.Sprintf("%+v", problems(t, err)), key)
			})
		}
	}
}

func TestDSN(t *testing.T) {
	tests := []struct {
		db, dataDir, driver, dsn string
	}{
		{"", "./data", "sqlite", filepath.Join("data", "gatehouse.db")},
		{"", "/var/lib/gh", "sqlite", "/var/lib/gh/gatehouse.db"},
		{"sqlite:/srv/gh.db", "./data", "sqlite", "/srv/gh.db"},
		{"sqlite:rel/gh.db", "./data", "sqlite", "rel/gh.db"},
		{"postgres://u:p@db:5432/gh?sslmode=disable", "./data", "postgres", "postgres://u:p@db:5432/gh?sslmode=disable"},
		{"postgresql://db/gh", "./data", "postgres", "postgresql://db/gh"},
		{"mysql://db/gh", "./data", "", ""},
	}
	for _, tt := range tests {
		driver, dsn := Config{DB: tt.db, DataDir: tt.dataDir}.DSN()
		if driver != tt.driver || dsn != tt.dsn {
			t.Errorf("DSN() for DB=%q DataDir=%q = %q, %q; want %q, %q", tt.db, tt.dataDir, driver, dsn, tt.driver, tt.dsn)
		}
	}
}

func TestLogValueRedactsDBPassword(t *testing.T) {
	var buf bytes.Buffer
	cfg := loadedDefaults()
	cfg.DB = "postgres://gh:hunter2@db/gh"
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", cfg)
	if strings.Contains(buf.String(), "hunter2") || !strings.Contains(buf.String(), `"db":"postgres://gh:xxxxx@db/gh"`) {
		t.Errorf("slog output = %s", buf.String())
	}
}
