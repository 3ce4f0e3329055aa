package fakeserver

import (
	"crypto/subtle"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Who may use the control API. A peer address on the loopback interface is not enough on its own: a web page
// the operator visits can reach a loopback port by DNS rebinding (its own name resolving to 127.0.0.1) or send
// it a cross-site request, and behind a proxy on the same host every peer looks local. So a request without
// the admin token must come from a loopback peer, name a loopback host (localhost, 127.0.0.0/8, ::1) in Host,
// carry no Forwarded or X-Forwarded-For header, and, if it has an Origin, come from a loopback origin. A POST,
// PUT or PATCH must also say `Content-Type: application/json` (or application/yaml): a web page can send neither
// without a CORS preflight, which this server never grants (a DELETE, which has no body, needs one anyway). A request that presents
// the token ("Authorization: Bearer TOKEN") is allowed from anywhere. The token is never shown: not in
// answers, logs or help text.

// adminCheck returns "" when r may use the control API, else why not.
func (h *Handler) adminCheck(r *http.Request) string {
	if tok := h.opts.AdminToken; tok != "" && subtle.ConstantTimeCompare([]byte(bearer(r.Header)), []byte(tok)) == 1 {
		return ""
	}
	switch {
	case !loopback(r):
		return "the control API answers loopback peers, or others with the admin token"
	case !loopbackHost(r.Host):
		return fmt.Sprintf("Host %q is not a loopback name (localhost, 127.0.0.1, [::1]); use one, or the admin token", r.Host)
	case r.Header.Get("Forwarded") != "" || r.Header.Get("X-Forwarded-For") != "":
		return "a request forwarded by a proxy needs the admin token"
	}
	if o := r.Header.Get("Origin"); o != "" && !loopbackOrigin(o) {
		return fmt.Sprintf("Origin %q is not a loopback origin; web pages of other origins may not use the control API", o)
	}
	return ""
}

// changeContentType returns "" when a request that changes something says its body is JSON (or YAML).
func changeContentType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || mt == "application/yaml" || mt == "application/x-yaml") {
		return ""
	}
	return fmt.Sprintf("a change needs Content-Type: application/json (got %q); e.g. curl -H 'Content-Type: application/json'", ct)
}

// loopback reports whether the peer of r is on the loopback interface.
func loopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a Host header names the loopback interface.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOrigin reports whether an Origin header is an http(s) origin on a loopback host.
func loopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && loopbackHost(u.Host)
}
