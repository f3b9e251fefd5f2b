package status

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium (apt-get install chromium).
const chromiumPath = "/usr/bin/chromium"

// TestBrowser loads the status page in a real headless Chromium, with its
// strict CSP, and checks what a person sees: a stalled upload's row with its
// phase, the row turning "stuck" and a new connection appearing through the
// event stream. It saves full-page screenshots (desktop and phone) to the
// test's temporary directory and, if VIGIL_SCREENSHOT_DIR is set, there too.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s is absent and CI is unset: skipping the browser test (apt-get install chromium)", chromiumPath)
		}
		t.Fatalf("%s is absent and CI is set: .ci/run must apt-get install chromium", chromiumPath)
	}
	l := newLoop(t)
	_, stalled := l.stallInBody(t, "POST /firmware.bin")
	s := New(Options{
		Table:   l.tab,
		Started: time.Now().Add(-26 * time.Hour),
		Info: map[string]string{"version": "v0.9.0-test", "go": "go1.26", "listen": ":443",
			"timeouts": "header 10s · stall 30s · idle 30s"},
	})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	t.Cleanup(s.Close) // runs first: ends the page's event stream so ts.Close need not wait for it

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	// Cancelling the allocator waits for the browser process to exit: no
	// chromium is left behind, and goleak sees chromedp's goroutines gone.
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	start := time.Now()
	row := `tr[data-conn-id="` + itoa(stalled.ID()) + `"]`
	if err := chromedp.Do(bctx,
		chromedp.Navigate(ts.URL+"/"), // the root redirects to the page
		chromedp.WaitVisible(chromedp.CSS(row+`[data-phase="body"]`)),
	); err != nil {
		t.Fatalf("loading the status page: %v", err)
	}
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil || !strings.HasSuffix(loc, "/status") {
		t.Errorf("location %q (%v), want the root redirected to /status", loc, err)
	}
	phase, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(row+` td.phase`)))
	if err != nil || phase != "body" {
		t.Errorf("phase cell %q (%v), want body", phase, err)
	}
	req, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(row+` td.req`)))
	if err != nil || req != "POST /firmware.bin" {
		t.Errorf("request cell %q (%v), want POST /firmware.bin", req, err)
	}

	// The script runs under the CSP: the stream connects, the stalled row
	// turns stuck with a hint, and a connection opened after the page
	// loaded appears.
	_, fresh := l.dial(t)
	freshRow := `tr[data-conn-id="` + itoa(fresh.ID()) + `"][data-phase="header"]`
	if err := chromedp.Do(bctx,
		chromedp.WaitVisible(chromedp.CSS(`#live.on`)),
		chromedp.WaitVisible(chromedp.CSS(freshRow)),
		chromedp.WaitVisible(chromedp.CSS(row+`.stuck`)),
	); err != nil {
		t.Fatalf("live updates: %v", err)
	}
	hint, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(row+` td.hint`)))
	if err != nil || !strings.HasPrefix(hint, "request body stalled for") {
		t.Errorf("hint %q (%v), want the stalled body explained", hint, err)
	}
	open, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`#c-open`)))
	if err != nil || open != "2" {
		t.Errorf("open counter %q (%v), want 2", open, err)
	}

	desktop, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	var phone []byte
	err = chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			fits, err := chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)(ctx, tg)
			if err == nil && !fits {
				t.Error("the page scrolls sideways on a phone")
			}
			return err
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			phone, err = chromedp.FullScreenshot(100)(ctx, tg)
			return err
		}),
	)
	if err != nil {
		t.Fatalf("phone screenshot: %v", err)
	}
	t.Logf("browser start-up and checks took %v", time.Since(start).Round(time.Millisecond))
	save(t, "status.png", desktop)
	save(t, "status-phone.png", phone)
}

// save writes a screenshot to the test's temporary directory and, if
// VIGIL_SCREENSHOT_DIR is set, copies it there.
func save(t *testing.T, name string, png []byte) {
	t.Helper()
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("%s is not a PNG", name)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("VIGIL_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved to %s", p)
	}
}
