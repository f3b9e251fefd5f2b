package vigil_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigilhttp/vigil"
)

// The demo's network settings page as a GoAhead 2.x .asp page, rendered by
// handler=jst with Ralink-style bound functions, posting to /goform.
func TestDemoNetworkASP(t *testing.T) {
	_, addr := startLoopback(t, vigil.Config{})
	base := "http://" + addr
	t.Run("the page renders with the device's settings", func(t *testing.T) {
		code, body, hdr := sendH(t, "GET", base+"/network.asp", "", "", "")
		if code != 200 || hdr.Get("Content-Type") != "text/html" {
			t.Fatalf("GET /network.asp: %d %s", code, hdr.Get("Content-Type"))
		}
		for _, want := range []string{
			`name="hostname" value="vigil-demo"`,
			`value="dhcp" checked>`,
			`value="static">`,
			`<option value="24" selected>`,
			`<option value="8">`,
			`name="dns1" inputmode="decimal" value="192.0.2.53"`,
			`name="dns2" inputmode="decimal" value="198.51.100.53"`,
			`Vigil Demo Router VR-1 firmware 1.4.2`,
			`action="/goform/network"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		if strings.Contains(body, "<%") || strings.Contains(body, "%>") {
			t.Error("the page's source leaked into its output")
		}
	})
	t.Run("its Save runs the legacy form", func(t *testing.T) {
		f := url.Values{"hostname": {"lab-1"}, "mode": {"dhcp"}, "dns1": {"192.0.2.1"}}
		code, body, _ := sendH(t, "POST", base+"/goform/network", "", "", f.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		if code != 200 || !strings.Contains(body, "Network settings checked") || !strings.Contains(body, "lab-1") {
			t.Fatalf("POST /goform/network: %d %q", code, body)
		}
	})
	t.Run("the static page is served as it was", func(t *testing.T) {
		code, body, _ := sendH(t, "GET", base+"/network.html", "", "", "")
		if code != 200 || !strings.Contains(body, `action="/action/network"`) {
			t.Fatalf("GET /network.html: %d", code)
		}
	})
}

// chromium is Debian's chromium (apt-get install chromium), as in
// status/browser_test.go.
const chromium = "/usr/bin/chromium"

// TestDemoNetworkASPBrowser loads /network.asp in a real headless Chromium:
// the form shows the bound values, and Save posts to /goform/network and
// shows the checked settings. It saves a screenshot to the test's
// temporary directory and, if VIGIL_SCREENSHOT_DIR is set, there too.
func TestDemoNetworkASPBrowser(t *testing.T) {
	needChromium(t)
	_, addr := startLoopback(t, vigil.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := browser(ctx, t, 1280, 900)
	// Cancelling the allocator waits for the browser to exit: no chromium
	// is left behind, and goleak sees chromedp's goroutines gone.
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	if err := chromedp.Do(bctx,
		chromedp.Navigate("http://"+addr+"/network.asp"),
		chromedp.WaitVisible(chromedp.CSS(`#network-form`)),
	); err != nil {
		t.Fatalf("loading /network.asp: %v", err)
	}
	for sel, want := range map[string]string{"#hostname": "vigil-demo", "#prefix": "24", "#dns1": "192.0.2.53", "#dns2": "198.51.100.53"} {
		got, err := chromedp.Run(bctx, chromedp.Value(chromedp.CSS(sel)))
		if err != nil || got != want {
			t.Errorf("%s shows %q (%v), want %q", sel, got, err, want)
		}
	}
	dhcp, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.querySelector('input[name=mode][value=dhcp]').checked`))
	if err != nil || !dhcp {
		t.Errorf("DHCP checked: %v (%v), want true", dhcp, err)
	}
	leaked, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.outerHTML.includes('<%')`))
	if err != nil || leaked {
		t.Errorf("page source in the rendered document: %v (%v)", leaked, err)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	saveShot(t, "network-asp.png", shot)
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`#network-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`main table`)),
	); err != nil {
		t.Fatalf("Save: %v", err)
	}
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil || !strings.HasSuffix(loc, "/goform/network") {
		t.Errorf("after Save the browser is at %q (%v), want /goform/network", loc, err)
	}
	h1, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`h1`)))
	if err != nil || h1 != "Network settings checked" {
		t.Errorf("after Save the page says %q (%v)", h1, err)
	}
}

// saveShot writes a screenshot to the test's temporary directory and, if
// VIGIL_SCREENSHOT_DIR is set, copies it there.
func saveShot(t *testing.T, name string, png []byte) {
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
