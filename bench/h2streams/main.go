// Command h2streams measures what an HTTP/2 stream flood costs a server: C
// connections of S streams each, every stream a GET of a large file with
// the client's window at zero (so that every handler holds its file open),
// while a probe on a fresh connection asks for a small file every 100 ms.
// It prints the server's open descriptors (from /proc, if -pid is given),
// the statuses the flood got and the probes' latency.
//
//	go run ./bench/h2streams -addr 127.0.0.1:8443 -path /big.bin -probe /index.html -pid $(pidof vigil)
//
// The probe comes from another loopback address (-probe-from), as another
// client would: the flood's own address is capped.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "the server's https address")
	path := flag.String("path", "/big.bin", "a large file")
	probe := flag.String("probe", "/", "a small page for the probe")
	conns := flag.Int("conns", 5, "attack connections")
	streams := flag.Int("streams", 250, "streams per connection")
	hold := flag.Duration("hold", 5*time.Second, "how long the attack holds")
	pid := flag.Int("pid", 0, "the server's pid, to count its descriptors")
	from := flag.String("probe-from", "127.0.0.2", "the probe's source address (another client than the flood's)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *hold+10*time.Second)
	defer cancel()
	var clients []*faultkit.H2Client
	for range *conns {
		c, err := faultkit.H2.Dial(ctx, *addr, faultkit.DialOptions{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			os.Exit(1)
		}
		defer c.Close()
		h, err := faultkit.NewH2Client(ctx, c, faultkit.H2Options{Window: faultkit.ZeroWindow})
		if err != nil {
			fmt.Fprintln(os.Stderr, "h2:", err)
			os.Exit(1)
		}
		defer h.Close()
		for range *streams {
			h.Request("GET", *path, false)
		}
		clients = append(clients, h)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(*from)}}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true, DisableKeepAlives: true,
		DialContext: d.DialContext}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var lat []time.Duration
	maxFD, failed := 0, 0
	end := time.Now().Add(*hold)
	for time.Now().Before(end) {
		t0 := time.Now()
		resp, err := client.Get("https://" + *addr + *probe)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				failed++
			}
		} else {
			failed++
		}
		lat = append(lat, time.Since(t0))
		if *pid > 0 {
			if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", *pid)); err == nil {
				maxFD = max(maxFD, len(fds))
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	statuses := map[int]int{}
	resets := 0
	for _, h := range clients {
		st := h.State()
		for _, s := range st.Streams {
			statuses[s.Status]++
			if s.Reset {
				resets++
			}
		}
	}
	slices.Sort(lat)
	fmt.Printf("flood: %d conns x %d streams; statuses %v; streams reset %d\n", *conns, *streams, statuses, resets)
	fmt.Printf("probes: %d, failed %d, median %v, p99 %v, max %v\n", len(lat), failed, lat[len(lat)/2].Round(time.Millisecond),
		lat[len(lat)*99/100].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	if *pid > 0 {
		fmt.Printf("server descriptors at most %d during the flood\n", maxFD)
	}
}
