// Go's net/http client against a svckit server: keep-alive reuse, chunked upload, 100-continue and
// limit statuses. Built offline (GOPATH mode, standard library only). Exit code 0 when all pass.
package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"time"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go client: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	base := os.Args[1]
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	// Keep-alive: the second request reuses the first connection.
	reused := []bool{}
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest("GET", base+"/hello", nil)
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) }}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := client.Do(req)
		if err != nil {
			fail("GET /hello: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != `{"msg":"Hello svckit"}` {
			fail("GET /hello: %d %q", resp.StatusCode, body)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			fail("no X-Request-Id")
		}
	}
	if len(reused) != 3 || reused[0] || !reused[1] || !reused[2] {
		fail("keep-alive not reused: %v", reused)
	}

	// Chunked upload: a body of unknown length.
	payload := strings.Repeat("svckit-", 20000)
	req, _ := http.NewRequest("POST", base+"/echo", io.NopCloser(strings.NewReader(payload)))
	req.ContentLength = -1
	resp, err := client.Do(req)
	if err != nil {
		fail("chunked POST: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if te := resp.Header.Get("X-Request-Transfer-Encoding"); te != "chunked" {
		fail("the server did not receive a chunked body: %q", te)
	}
	if resp.StatusCode != 200 || string(body) != payload {
		fail("chunked echo: %d, %d bytes", resp.StatusCode, len(body))
	}

	// Expect: 100-continue: Go waits for the interim response before sending the body.
	got100 := false
	req, _ = http.NewRequest("POST", base+"/echo", bytes.NewReader([]byte("continued body")))
	req.Header.Set("Expect", "100-continue")
	trace := &httptrace.ClientTrace{Got100Continue: func() { got100 = true }}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err = client.Do(req)
	if err != nil {
		fail("100-continue: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !got100 || string(body) != "continued body" {
		fail("100-continue: got100=%v body=%q", got100, body)
	}

	// Limits.
	resp, err = client.Post(base+"/small", "text/plain", strings.NewReader(strings.Repeat("x", 17)))
	if err != nil {
		fail("413: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		fail("expected 413, got %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", base+"/hello", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 70*1024))
	resp, err = client.Do(req)
	if err != nil {
		fail("431: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 431 {
		fail("expected 431, got %d", resp.StatusCode)
	}
	resp, err = client.Get(base + "/" + strings.Repeat("u", 9000))
	if err != nil {
		fail("414: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 414 {
		fail("expected 414, got %d", resp.StatusCode)
	}
	fmt.Println("go net/http client: ok")
}
