package vigil_test

import (
	"context"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// needChromium skips the test when Debian's chromium is absent, unless CI
// is set: CI installs it (.ci/run), so there its absence is a failure.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s is absent and CI is unset: skipping the browser test (apt-get install chromium)", chromium)
		}
		t.Fatalf("%s is absent and CI is set: .ci/run must apt-get install chromium", chromium)
	}
}

// browser starts a headless Chromium bounded by ctx, with a window of w×h
// and the flags this machine's closed network needs, and returns its
// allocator context. Cancelling the allocator (the returned func) waits
// for the browser to exit: no chromium is left behind, and goleak sees
// chromedp's goroutines gone.
func browser(ctx context.Context, t *testing.T, w, h int) (context.Context, context.CancelFunc) {
	return chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
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
		chromedp.WindowSize(w, h),
	)
}
