package main

import (
	"os/exec"
	"strings"
	"testing"
)

func TestDefaultPublicURL_FollowsADDRInGoAndInMakeRun(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{":8080", "http://localhost:8080"},
		{"127.0.0.1:18101", "http://127.0.0.1:18101"},
		{"localhost:9000", "http://localhost:9000"},
		{"0.0.0.0:8080", "http://localhost:8080"},
		{"[::]:8080", "http://localhost:8080"},
		{"[::1]:8080", "http://[::1]:8080"},
		{"api.internal:443", "http://api.internal:443"},
		{"8080", "http://localhost"},
		{"", "http://localhost"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			if got := defaultPublicURL(tc.addr); got != tc.want {
				t.Errorf("config.go: %q → %q, want %q", tc.addr, got, tc.want)
			}
			if tc.addr == "" {
				return // the script requires an argument
			}
			out, err := exec.Command("bash", "../../scripts/public-url.sh", tc.addr).Output()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(out)); got != tc.want {
				t.Errorf("scripts/public-url.sh: %q → %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

func TestLoadConfig_ReadsTheEdgeSettings(t *testing.T) {
	t.Setenv("ADDR", "127.0.0.1:18101")
	t.Setenv("CORS_ALLOWED_ORIGINS", " http://localhost:5173, https://app.example.com ")
	t.Setenv("GRAPHQL_SOCKETS_PER_TOKEN", "3")
	t.Setenv("ROUTER_ADDR", "127.0.0.1:18102")
	c, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "http://127.0.0.1:18101" || strings.Join(c.CORSAllowedOrigins, " ") != "http://localhost:5173 https://app.example.com" ||
		c.graphLimits().SocketsPerToken != 3 || c.graphLimits().SubscriptionsPerSocket != 20 || c.edge().RouterAddr != "127.0.0.1:18102" || c.edge().MaxConnections != 0 {
		t.Fatalf("%+v", c)
	}
	for key, bad := range map[string]string{
		"CORS_ALLOWED_ORIGINS":             "*",
		"MAX_CONNECTIONS":                  "0",
		"GRAPHQL_SUBSCRIPTIONS_PER_SOCKET": "-1",
		"HTTP_BODY_TIMEOUT":                "soon",
	} {
		t.Run(key, func(t *testing.T) {
			t.Setenv(key, bad)
			if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), key) {
				t.Fatalf("%s=%q: %v", key, bad, err)
			}
		})
	}
	for _, bad := range []string{"localhost:5173", "http://localhost:5173/", "http://x/app", "ftp://x", "http://u@x"} {
		if _, err := parseOrigins(bad); err == nil {
			t.Errorf("origin %q accepted", bad)
		}
	}
}
