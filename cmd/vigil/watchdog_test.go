package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWatchdog(t *testing.T) {
	t.Run("tells systemd it is ready, then pings the watchdog after live checks", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "notify.sock")
		pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		t.Setenv("NOTIFY_SOCKET", sock)
		t.Setenv("WATCHDOG_USEC", "200000")
		t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
		_, stop := startServe(t)
		defer stop()
		got := map[string]bool{}
		buf := make([]byte, 256)
		deadline := time.Now().Add(3 * time.Second)
		for !(got["READY=1"] && got["WATCHDOG=1"]) && time.Now().Before(deadline) {
			pc.SetReadDeadline(deadline)
			n, err := pc.Read(buf)
			if err != nil {
				break
			}
			got[strings.TrimSpace(string(buf[:n]))] = true
		}
		if !got["READY=1"] || !got["WATCHDOG=1"] {
			t.Errorf("notifications %v, want READY=1 and WATCHDOG=1", got)
		}
	})
}
