package site

import (
	"fmt"
	"html"
	"net/http"
	"strconv"
	"time"

	"github.com/vigilhttp/vigil/demo"
	"github.com/vigilhttp/vigil/jst"
	"github.com/vigilhttp/vigil/live"
)

// bindDemoUI registers what the demo UI's routes (demo.Routes) reach: the
// firmware upgrade and network actions, the network form, the functions
// of network.asp and the live feeds.
func (s *Site) bindDemoUI() {
	s.action("upgrade", http.HandlerFunc(demoUpgrade))
	s.action("network", demo.Network)
	s.form("network", demo.Network) // network.asp's Save (/goform/network)
	bindDemo(s.jst)                 // network.asp's values
	s.demoFeeds()
}

// demoUpgrade is the demo UI's firmware upgrade action: it reports what it
// received (size, SHA-256) and flashes nothing; the temporary file is
// removed after it.
func demoUpgrade(w http.ResponseWriter, r *http.Request) {
	res := Uploaded(r)
	if res == nil || len(res.Files) != 1 {
		demo.Page(w, http.StatusBadRequest, "Firmware", "upgrade.html", "<h1>No image</h1><p>Choose exactly one firmware image.</p><p><a href=/upgrade.html>Back</a></p>")
		return
	}
	f := res.Files[0]
	if f.Size == 0 {
		demo.Page(w, http.StatusBadRequest, "Firmware", "upgrade.html", "<h1>Empty image</h1><p>"+html.EscapeString(f.ClientName)+
			" has no bytes: it cannot be a firmware image.</p><p><a href=/upgrade.html>Back</a></p>")
		return
	}
	demo.Page(w, http.StatusOK, "Firmware", "upgrade.html", fmt.Sprintf("<h1>Image received</h1>"+
		"<p>%s: %d bytes, SHA-256 <code>%s</code>.</p><p class=note>The demo does not flash images.</p><p><a href=/upgrade.html>Back</a></p>",
		html.EscapeString(f.ClientName), f.Size, f.SHA256))
}

// bindDemo binds the functions the demo UI's network.asp calls, in the
// style of Ralink SDK firmware: getCfgGeneral(type, name) and
// getCfgZero(type, name) (type 1 writes the setting, 0 returns it;
// getCfgZero gives "0" for an empty one), and ASUSWRT's sysinfo(name).
func bindDemo(p *jstPages) {
	cfg := func(zero bool) jst.Func {
		return func(c *jst.Call) error {
			v, _ := demo.Setting(c.Arg(1))
			if zero && v == "" {
				v = "0"
			}
			if c.Arg(0) == "1" {
				_, err := c.WriteString(v)
				return err
			}
			c.Return(v)
			return nil
		}
	}
	p.define("getCfgGeneral", cfg(false))
	p.define("getCfgZero", cfg(true))
	p.define("sysinfo", func(c *jst.Call) error {
		v, ok := demo.SysInfo(c.Arg(0))
		if !ok {
			return fmt.Errorf("no such fact %q", c.Arg(0))
		}
		_, err := c.WriteString(v)
		return err
	})
}

// demoFeeds serves the demo UI's live feeds: a demo.Sample every
// demo.LiveEvery over WebSocket (/ws/live) and as events (/events/live).
func (s *Site) demoFeeds() {
	sampler := demo.NewSampler()
	s.WebSocket("live", func(c *live.Conn) {
		go func() { // the demo ignores what the page sends, but reads it
			for {
				if _, _, err := c.Read(c.Context()); err != nil {
					return
				}
			}
		}()
		t := time.NewTicker(demo.LiveEvery)
		defer t.Stop()
		for {
			if c.Write(c.Context(), live.MessageText, sampler.Next(time.Now())) != nil {
				return
			}
			select {
			case <-c.Context().Done():
				return
			case <-t.C:
			}
		}
	})
	s.Events("live", func(st *live.Stream) {
		t := time.NewTicker(demo.LiveEvery)
		defer t.Stop()
		for n := 1; ; n++ {
			if st.Send(live.Event{ID: strconv.Itoa(n), Event: "sample", Data: string(sampler.Next(time.Now()))}) != nil {
				return
			}
			select {
			case <-st.Context().Done():
				return
			case <-t.C:
			}
		}
	})
}
