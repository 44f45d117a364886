package xdndtest

import (
	"strings"
	"testing"
	"time"

	"conceptstudio/internal/testenv"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

func TestURIList(t *testing.T) {
	got, err := URIList([]string{"/tmp/a b/1.png", "/x/ü%.png"})
	if err != nil {
		t.Fatal(err)
	}
	want := "file:///tmp/a%20b/1.png\r\nfile:///x/%C3%BC%25.png\r\n"
	if got != want {
		t.Fatalf("URIList = %q, want %q", got, want)
	}
}

// TestDropOnTarget drops two files on a minimal XDND target written here
// (what GLFW does on the window's side) and checks what arrived.
func TestDropOnTarget(t *testing.T) {
	display := testenv.Xvfb(t, 190, "640x480x24")
	tg := newTarget(t, display, "xdndtest target", true)
	paths := []string{"/tmp/one.png", "/tmp/two words.png"}
	res, err := Drop(display, paths, Options{Title: "xdndtest target", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got := <-tg.done
	want, _ := URIList(paths)
	if got.body != want {
		t.Errorf("the target received %q, want %q", got.body, want)
	}
	if got.version != Version || res.Version != Version {
		t.Errorf("versions: target saw %d, result %d; want %d", got.version, res.Version, Version)
	}
	if got.x != 40+100 || got.y != 30+80 {
		t.Errorf("drop point (%d, %d), want the target's centre (140, 110)", got.x, got.y)
	}
	if !res.Accepted || res.Target != uint32(tg.win) || strings.Join(res.Requests, ",") != UriList {
		t.Errorf("result %+v", res)
	}
}

// TestRefusedDrop: a target that does not take text/uri-list says so in
// XdndStatus; Drop reports it instead of dropping.
func TestRefusedDrop(t *testing.T) {
	display := testenv.Xvfb(t, 190, "640x480x24")
	tg := newTarget(t, display, "picky", false)
	_, err := Drop(display, []string{"/tmp/one.png"}, Options{Target: uint32(tg.win), Timeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("want a refusal, got %v", err)
	}
}

func TestNoTarget(t *testing.T) {
	display := testenv.Xvfb(t, 190, "640x480x24")
	_, err := Drop(display, []string{"/tmp/one.png"}, Options{Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "XdndAware") {
		t.Fatalf("want no XdndAware window, got %v", err)
	}
}

// dropped is what the fake target received.
type dropped struct {
	version int
	x, y    int
	body    string
}

type target struct {
	win  xproto.Window
	done chan dropped
}

// newTarget opens a 200×160 window at (40, 30) that is XdndAware and
// accepts text/uri-list when takesURIs is set.
func newTarget(t *testing.T, display, title string, takesURIs bool) *target {
	t.Helper()
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	a, err := intern(c)
	if err != nil {
		t.Fatal(err)
	}
	scr := xproto.Setup(c).DefaultScreen(c)
	win, _ := xproto.NewWindowId(c)
	if err := xproto.CreateWindowChecked(c, scr.RootDepth, win, scr.Root, 40, 30, 200, 160, 0,
		xproto.WindowClassInputOutput, scr.RootVisual, 0, nil).Check(); err != nil {
		t.Fatal(err)
	}
	ver := make([]byte, 4)
	xgb.Put32(ver, Version)
	xproto.ChangeProperty(c, xproto.PropModeReplace, win, a.aware, xproto.AtomAtom, 32, 1, ver)
	xproto.ChangeProperty(c, xproto.PropModeReplace, win, xproto.AtomWmName, xproto.AtomString, 8, uint32(len(title)), []byte(title))
	if err := xproto.MapWindowChecked(c, win).Check(); err != nil {
		t.Fatal(err)
	}
	tg := &target{win: win, done: make(chan dropped, 1)}
	go func() {
		var got dropped
		var src xproto.Window
		reply := func(typ xproto.Atom, l1, l4 uint32) {
			ev := xproto.ClientMessageEvent{Format: 32, Window: src, Type: typ,
				Data: xproto.ClientMessageDataUnionData32New([]uint32{uint32(win), l1, 0, 0, l4})}
			xproto.SendEvent(c, false, src, 0, string(ev.Bytes()))
		}
		for {
			ev, err := c.WaitForEvent()
			if ev == nil && err == nil {
				return
			}
			switch e := ev.(type) {
			case xproto.ClientMessageEvent:
				d := e.Data.Data32
				switch e.Type {
				case a.enter:
					src, got.version = xproto.Window(d[0]), int(d[1]>>24)
					takes := false
					for _, ty := range d[2:5] {
						takes = takes || xproto.Atom(ty) == a.uriList
					}
					takesURIs = takesURIs && takes
				case a.position:
					got.x, got.y = int(d[2]>>16), int(d[2]&0xffff)
					if takesURIs {
						reply(a.status, 1, uint32(a.actionCopy))
					} else {
						reply(a.status, 0, 0)
					}
				case a.drop:
					xproto.ConvertSelection(c, win, a.selection, a.uriList, a.selection, xproto.Timestamp(d[2]))
				}
			case xproto.SelectionNotifyEvent:
				if e.Property == a.selection {
					r, err := xproto.GetProperty(c, true, win, a.selection, a.uriList, 0, 1<<16).Reply()
					if err == nil {
						got.body = string(r.Value)
					}
				}
				// As GLFW 3.3 does: the byte count where the spec has a
				// success bit (even here), the action done in l[2].
				ev := xproto.ClientMessageEvent{Format: 32, Window: src, Type: a.finished,
					Data: xproto.ClientMessageDataUnionData32New([]uint32{uint32(win), uint32(len(got.body)), uint32(a.actionCopy), 0, 0})}
				xproto.SendEvent(c, false, src, 0, string(ev.Bytes()))
				tg.done <- got
			}
		}
	}()
	return tg
}
