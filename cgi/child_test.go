package cgi

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain doubles as the CGI program (the tableflip pattern): the test
// binary, started with VIGIL_CGI_CHILD=mode, behaves as a CGI child.
func TestMain(m *testing.M) {
	if mode := os.Getenv("VIGIL_CGI_CHILD"); mode != "" {
		os.Exit(child(mode))
	}
	goleak.VerifyTestMain(m)
}

// waitPidfile waits up to 2 s for the pid file, written by a grandchild.
func waitPidfile() {
	for range 400 {
		if _, err := os.Stat(os.Getenv("VIGIL_CGI_PIDFILE")); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writePid(pid int) {
	if f := os.Getenv("VIGIL_CGI_PIDFILE"); f != "" {
		os.WriteFile(f+".tmp", []byte(strconv.Itoa(pid)), 0o644)
		os.Rename(f+".tmp", f)
	}
}

// hostPid is this process's pid as the test sees it: a CGI child runs in a
// PID namespace of its own, where os.Getpid is 1, but /proc is still the
// test's mount, whose "self" names the pid in the test's namespace.
func hostPid() int {
	if s, err := os.Readlink("/proc/self"); err == nil {
		if pid, err := strconv.Atoi(s); err == nil {
			return pid
		}
	}
	return os.Getpid()
}

func child(mode string) int {
	out := os.Stdout
	switch mode {
	case "env":
		fmt.Fprint(out, "Content-Type: text/plain\n\n")
		for _, a := range os.Args[1:] {
			fmt.Fprintf(out, "ARG=%s\n", a)
		}
		env := os.Environ()
		sort.Strings(env)
		for _, kv := range env {
			fmt.Fprintln(out, kv)
		}
	case "echo":
		fmt.Fprint(out, "Content-Type: application/octet-stream\r\n\r\n")
		io.Copy(out, os.Stdin)
	case "status":
		fmt.Fprint(out, "Status: 404 Not Found\r\nContent-Type: text/plain\r\nX-Extra: yes\r\n\r\nnope")
	case "location":
		fmt.Fprint(out, "Location: /elsewhere\n\n")
	case "badhdr":
		fmt.Fprint(out, "this is not a header\n\nbody")
	case "noheader":
		fmt.Fprint(out, "Content-Type: text/plain\n")
	case "bighdr":
		fmt.Fprintf(out, "X-Big: %s\n\n", strings.Repeat("a", 100<<10))
	case "stderr":
		fmt.Fprint(os.Stderr, "something went wrong")
		fmt.Fprint(out, "Content-Type: text/plain\n\nok")
	case "silent":
		writePid(hostPid())
		time.Sleep(time.Hour)
	case "slow":
		writePid(hostPid())
		fmt.Fprint(out, "Content-Type: text/plain\n\npartial\n")
		time.Sleep(time.Hour)
	case "flood":
		writePid(hostPid())
		fmt.Fprint(out, "Content-Type: application/octet-stream\n\n")
		buf := make([]byte, 64<<10)
		for {
			if _, err := out.Write(buf); err != nil {
				return 1
			}
		}
	case "fork":
		exe, _ := os.Executable()
		gc := exec.Command(exe)
		gc.Env = append(os.Environ(), "VIGIL_CGI_CHILD=sleep")
		if err := gc.Start(); err != nil {
			fmt.Fprintf(os.Stderr, "fork: %v", err)
			return 1
		}
		fmt.Fprint(out, "Content-Type: text/plain\n\nforked")
		waitPidfile()
		// Exit without waiting: the grandchild sleeps on in our group.
	case "setsid":
		exe, _ := os.Executable()
		gc := exec.Command(exe)
		gc.Env = append(os.Environ(), "VIGIL_CGI_CHILD=sleep")
		gc.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // out of the group
		if err := gc.Start(); err != nil {
			fmt.Fprintf(os.Stderr, "setsid: %v", err)
			return 1
		}
		fmt.Fprint(out, "Content-Type: text/plain\n\ndetached")
		waitPidfile()
	case "sleep":
		writePid(hostPid())
		time.Sleep(time.Hour)
	case "closeout":
		// The whole response, then stdout closed, and the child lives on.
		fmt.Fprint(out, "Content-Type: text/plain\n\ndone")
		writePid(hostPid())
		out.Close()
		time.Sleep(time.Hour)
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q", mode)
		return 2
	}
	return 0
}

// install writes dir/cgi-bin/name as a shell wrapper that runs this test
// binary in the given mode and returns the path of its pid file.
func install(t *testing.T, dir, name, mode string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := dir + "/cgi-bin"
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	pidfile := dir + "/" + name + ".pid"
	script := fmt.Sprintf("#!/bin/sh\nGORACE=atexit_sleep_ms=0 VIGIL_CGI_CHILD=%s VIGIL_CGI_PIDFILE=%s exec %s \"$@\"\n", mode, pidfile, exe)
	if err := os.WriteFile(bin+"/"+name, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return pidfile
}

// readPid waits up to 2 s for the child to write its pid file.
func readPid(t *testing.T, pidfile string) int {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(pidfile); err == nil {
			pid, err := strconv.Atoi(string(b))
			if err != nil {
				t.Fatalf("pid file: %v", err)
			}
			return pid
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("child never wrote %s", pidfile)
	return 0
}
