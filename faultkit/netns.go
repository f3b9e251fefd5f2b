package faultkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// DefaultTimeout bounds every operation of this package whose context
	// has no deadline.
	DefaultTimeout = 10 * time.Minute

	// CommandTimeout bounds each child process this package starts itself
	// (ip, nft, ss), whatever the caller's context allows.
	CommandTimeout = 10 * time.Second

	// MaxOutput caps the bytes kept from a child process's stdout and stderr
	// each; a command that writes more fails.
	MaxOutput = 16 << 20

	// netnsDir is where `ip netns` keeps its namespace handles.
	netnsDir = "/run/netns"

	// namePrefix starts the name of every namespace this package creates.
	namePrefix = "vgl"
)

// Netns is a named Linux network namespace created by this package with
// NewNetns or NewLink. Its methods are safe for concurrent use.
//
// Sockets created inside the namespace (by Do, Listen, Dial, DialTCP) keep it
// alive after Close until they are closed themselves; Close only removes the
// name.
type Netns struct {
	// Name is the namespace's name, as listed by `ip netns list` and found
	// in /run/netns.
	Name string

	mu     sync.Mutex
	closed bool // guarded by mu
}

// NewNetns creates a fresh network namespace with a unique name and its
// loopback interface up. The caller must Close it.
func NewNetns(ctx context.Context) (*Netns, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	base, _, err := uniqueBase()
	if err != nil {
		return nil, err
	}
	n, err := addNetns(ctx, base+"n")
	if err != nil {
		return nil, err
	}
	if _, err := run(ctx, nil, "ip", "-n", n.Name, "link", "set", "lo", "up"); err != nil {
		return nil, errors.Join(fmt.Errorf("faultkit: netns %s: lo up: %w", n.Name, err), n.Close())
	}
	return n, nil
}

// addNetns runs `ip netns add name`.
func addNetns(ctx context.Context, name string) (*Netns, error) {
	if _, err := run(ctx, nil, "ip", "netns", "add", name); err != nil {
		return nil, fmt.Errorf("faultkit: netns add %s: %w", name, err)
	}
	return &Netns{Name: name}, nil
}

// uniqueBase returns a fresh namespace name stem, "vgl<pid>x<8 hex>", and the
// random byte that Link uses for its subnet.
func uniqueBase() (string, byte, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", 0, fmt.Errorf("faultkit: random name: %w", err)
	}
	return fmt.Sprintf("%s%dx%s", namePrefix, os.Getpid(), hex.EncodeToString(b[:])), b[0], nil
}

// Close deletes the namespace's name (`ip netns del`). The namespace itself
// goes away with the last socket or process inside it, taking its interfaces
// (a veth end) with it. Close is idempotent; a concurrent second call returns
// nil at once.
func (n *Netns) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	if _, err := run(ctx, nil, "ip", "netns", "del", n.Name); err != nil {
		n.mu.Lock()
		n.closed = false
		n.mu.Unlock()
		return fmt.Errorf("faultkit: netns del %s: %w", n.Name, err)
	}
	return nil
}

// isClosed reports whether Close has deleted (or is deleting) the namespace.
func (n *Netns) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// Do runs fn on a locked OS thread switched into the namespace (setns(2) on
// /run/netns/NAME), then switches the thread back and unlocks it.
//
// Sockets created inside fn (net.Listen, net.Dial, net.ListenConfig.Listen,
// and connections accepted later from such a listener) stay in the
// namespace for their whole lifetime, whichever goroutine uses them later.
// Goroutines started by fn do not run in the namespace, so fn must create
// its sockets itself, and addresses must be IP literals (a name lookup would
// run elsewhere). If switching back fails, the thread stays locked, so the
// runtime discards it when the goroutine exits, and Do returns an error.
func (n *Netns) Do(fn func() error) (err error) {
	if n.isClosed() {
		return fmt.Errorf("faultkit: netns %s: %w", n.Name, net.ErrClosed)
	}
	target, err := unix.Open(netnsDir+"/"+n.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("faultkit: netns %s: open: %w", n.Name, err)
	}
	defer unix.Close(target)

	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("faultkit: netns %s: open own namespace: %w", n.Name, err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("faultkit: netns %s: setns: %w", n.Name, err)
	}
	defer func() {
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			// Leave the thread locked: the runtime will not reuse it.
			err = errors.Join(err, fmt.Errorf("faultkit: netns %s: switch back: %w", n.Name, rerr))
			return
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

// Listen announces on the local network address inside the namespace, like
// net.ListenConfig.Listen. Connections it accepts belong to the namespace.
func (n *Netns) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var ln net.Listener
	err := n.Do(func() error {
		var err error
		ln, err = (&net.ListenConfig{}).Listen(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("faultkit: netns %s: listen %s %s: %w", n.Name, network, addr, err)
	}
	return ln, nil
}

// Dial connects to addr (an IP literal and port) from inside the namespace,
// like net.Dialer.DialContext with TCP keepalive disabled, so the client
// stays silent unless told to speak.
func (n *Netns) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var c net.Conn
	err := n.Do(func() error {
		var err error
		c, err = (&net.Dialer{KeepAlive: -1}).DialContext(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("faultkit: netns %s: dial %s %s: %w", n.Name, network, addr, err)
	}
	return c, nil
}

// DialTCP is DialTCP run inside the namespace.
func (n *Netns) DialTCP(ctx context.Context, addr string, opt DialOptions) (*net.TCPConn, error) {
	var c *net.TCPConn
	err := n.Do(func() error {
		var err error
		c, err = dialTCP(ctx, addr, opt)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("faultkit: netns %s: %w", n.Name, err)
	}
	return c, nil
}

// Exec runs a command inside the namespace (`ip netns exec NAME name
// args...`) and returns its standard output. The command is killed when ctx
// ends (or after DefaultTimeout if ctx has no deadline); the error includes
// its standard error.
func (n *Netns) Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	out, err := command(ctx, nil, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
	if err != nil {
		return out, fmt.Errorf("faultkit: netns %s: %w", n.Name, err)
	}
	return out, nil
}

// run runs one of the package's own commands, bounded by ctx and by
// CommandTimeout.
func run(ctx context.Context, stdin io.Reader, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	return command(ctx, stdin, name, args...)
}

// command runs name with args, feeding stdin, and returns its standard
// output; its error names the command and quotes its standard error.
func command(ctx context.Context, stdin io.Reader, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	cmd.WaitDelay = time.Second
	var stdout, stderr capped
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil && (stdout.over || stderr.over) {
		err = fmt.Errorf("output exceeds %d bytes", MaxOutput)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 1024 {
			msg = msg[:1024] + "..."
		}
		if ctx.Err() != nil {
			err = errors.Join(err, ctx.Err())
		}
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %q", name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// capped is a bytes.Buffer that keeps at most MaxOutput bytes and notes
// whether more were written.
type capped struct {
	bytes.Buffer
	over bool
}

// Write keeps what fits under MaxOutput and always reports success, so the
// child is never blocked by a full pipe.
func (c *capped) Write(p []byte) (int, error) {
	if room := MaxOutput - c.Len(); len(p) > room {
		c.over = true
		c.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.Buffer.Write(p)
}

// bound returns ctx limited by DefaultTimeout when it has no deadline.
func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// RemoveStale deletes the namespaces this package created in processes that
// no longer run: names "vgl<pid>x<hex>..." whose pid has no /proc entry. A
// process killed before its Close (SIGKILL, or a `go test -timeout` panic,
// which skips test cleanups) leaves such names behind. Namespaces of live
// processes are never touched. It returns the names it deleted.
func RemoveStale(ctx context.Context) ([]string, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("faultkit: remove stale: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if pid, ok := ownerPid(e.Name()); !ok || !gone(pid) {
			continue
		}
		if _, err := run(ctx, nil, "ip", "netns", "del", e.Name()); err != nil {
			if _, serr := os.Stat(netnsDir + "/" + e.Name()); !errors.Is(serr, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue // or another process removed it first
		}
		removed = append(removed, e.Name())
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("faultkit: remove stale: %w", err)
	}
	return removed, nil
}

// ownerPid returns the pid in a name made by uniqueBase, and whether name is
// one: "vgl" pid "x" 8 hex digits, then one letter.
func ownerPid(name string) (int, bool) {
	pid, tail, ok := pidName(name, namePrefix)
	if !ok || len(tail) != 9 || !isHex(tail[:8]) {
		return 0, false
	}
	return pid, true
}

// pidName splits a name made of prefix, a process id in canonical decimal,
// "x" and a tail, and returns the pid and the tail.
func pidName(name, prefix string) (pid int, tail string, ok bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, "", false
	}
	digits, tail, ok := strings.Cut(rest, "x")
	if !ok {
		return 0, "", false
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != digits {
		return 0, "", false
	}
	return pid, tail, true
}

// gone reports whether no process with this id runs (it has no /proc
// entry).
func gone(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return errors.Is(err, os.ErrNotExist)
}

// isHex reports whether s is lower-case hexadecimal digits only.
func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}
