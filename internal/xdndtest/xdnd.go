// Package xdndtest drags files onto an X11 window the way a file manager
// does: it is the source side of the XDND protocol (version 5), with the
// files offered as text/uri-list. Tests use it to drop files on the real
// window under Xvfb; it is not part of the program.
//
// One Drop call owns a small unmapped window, claims the XdndSelection,
// sends XdndEnter and XdndPosition to the target, waits for its XdndStatus,
// sends XdndDrop, answers the target's SelectionRequest with the URI list
// and waits for XdndFinished.
package xdndtest

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// xgb logs every connection's missing ~/.Xauthority and its closing;
// a test helper has no use for that.
func init() { xgb.Logger = log.New(io.Discard, "", 0) }

// Version is the XDND protocol version this source speaks.
const Version = 5

// UriList is the one data type offered.
const UriList = "text/uri-list"

// Options say where to drop.
type Options struct {
	// Target is the window to drop on; 0 finds a top-level window with the
	// XdndAware property (whose title contains Title, when set).
	Target uint32
	Title  string
	// X, Y are the drop point inside the target; both 0 means its centre.
	X, Y int
	// Timeout bounds the whole drag (default 10 s).
	Timeout time.Duration
}

// Result is what the target answered.
type Result struct {
	Target   uint32   // the window dropped on
	Version  int      // the XDND version used: min(Version, the target's)
	Accepted bool     // XdndFinished said the drop succeeded
	Requests []string // the data types the target asked for
}

// URIList is the text/uri-list body for files: absolute file:// URIs,
// each line ended by CRLF (RFC 2483).
func URIList(paths []string) (string, error) {
	var b strings.Builder
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
		b.WriteString(u.String())
		b.WriteString("\r\n")
	}
	return b.String(), nil
}

// atoms are the interned names the protocol uses.
type atoms struct {
	aware, enter, position, status, leave, drop, finished, selection, actionCopy,
	uriList, targets, atom, netWMName, utf8, timeProbe xproto.Atom
}

func intern(c *xgb.Conn) (atoms, error) {
	names := []string{"XdndAware", "XdndEnter", "XdndPosition", "XdndStatus", "XdndLeave", "XdndDrop",
		"XdndFinished", "XdndSelection", "XdndActionCopy", UriList, "TARGETS", "ATOM", "_NET_WM_NAME",
		"UTF8_STRING", "XDNDTEST_TIME"}
	cookies := make([]xproto.InternAtomCookie, len(names))
	for i, n := range names {
		cookies[i] = xproto.InternAtom(c, false, uint16(len(n)), n)
	}
	got := make([]xproto.Atom, len(names))
	for i, ck := range cookies {
		r, err := ck.Reply()
		if err != nil {
			return atoms{}, fmt.Errorf("intern %s: %w", names[i], err)
		}
		got[i] = r.Atom
	}
	return atoms{got[0], got[1], got[2], got[3], got[4], got[5], got[6], got[7], got[8], got[9], got[10],
		got[11], got[12], got[13], got[14]}, nil
}

// source is one drag in progress.
type source struct {
	c      *xgb.Conn
	a      atoms
	root   xproto.Window
	win    xproto.Window
	events chan xgb.Event
	end    time.Time
}

// Drop drags files from a fresh source window onto a target on display
// (a DISPLAY value such as ":93") and drops them there. The error names
// the stage that failed.
func Drop(display string, paths []string, opt Options) (Result, error) {
	var res Result
	body, err := URIList(paths)
	if err != nil {
		return res, err
	}
	if opt.Timeout == 0 {
		opt.Timeout = 10 * time.Second
	}
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		return res, fmt.Errorf("xdnd: connect to %s: %w", display, err)
	}
	defer c.Close()
	s := &source{c: c, root: xproto.Setup(c).DefaultScreen(c).Root, events: make(chan xgb.Event, 64),
		end: time.Now().Add(opt.Timeout)}
	if s.a, err = intern(c); err != nil {
		return res, fmt.Errorf("xdnd: %w", err)
	}
	go func() {
		defer close(s.events)
		for {
			ev, xerr := c.WaitForEvent()
			switch {
			case ev != nil:
				s.events <- ev
			case xerr != nil:
				s.events <- xerrEvent{xerr}
			default:
				return // connection closed
			}
		}
	}()

	target := xproto.Window(opt.Target)
	if target == 0 {
		if target, err = findAware(c, s.a, opt.Title); err != nil {
			return res, err
		}
	}
	res.Target = uint32(target)
	ver, err := awareVersion(c, s.a, target)
	if err != nil {
		return res, err
	}
	res.Version = min(ver, Version)
	x, y, err := dropPoint(c, s.root, target, opt.X, opt.Y)
	if err != nil {
		return res, err
	}

	// The source window: never mapped; it owns the selection and gets the
	// target's replies.
	if s.win, err = xproto.NewWindowId(c); err != nil {
		return res, err
	}
	if err := xproto.CreateWindowChecked(c, 0, s.win, s.root, -10, -10, 1, 1, 0, xproto.WindowClassInputOnly,
		0, xproto.CwEventMask, []uint32{xproto.EventMaskPropertyChange}).Check(); err != nil {
		return res, fmt.Errorf("xdnd: create the source window: %w", err)
	}
	defer xproto.DestroyWindow(c, s.win)
	now, err := s.serverTime()
	if err != nil {
		return res, err
	}
	if err := xproto.SetSelectionOwnerChecked(c, s.win, s.a.selection, now).Check(); err != nil {
		return res, fmt.Errorf("xdnd: claim XdndSelection: %w", err)
	}
	if r, err := xproto.GetSelectionOwner(c, s.a.selection).Reply(); err != nil || r.Owner != s.win {
		return res, fmt.Errorf("xdnd: could not own XdndSelection (%v)", err)
	}

	// Enter: our window, the version in the top byte, up to 3 types inline.
	if err := s.send(target, s.a.enter, uint32(s.win), uint32(res.Version)<<24, uint32(s.a.uriList), 0, 0); err != nil {
		return res, fmt.Errorf("xdnd: XdndEnter: %w", err)
	}
	if err := s.send(target, s.a.position, uint32(s.win), 0, uint32(x)<<16|uint32(y)&0xffff, uint32(now), uint32(s.a.actionCopy)); err != nil {
		return res, fmt.Errorf("xdnd: XdndPosition: %w", err)
	}
	accepted := false
	err = s.until("XdndStatus", func(ev xgb.Event) (bool, error) {
		if m, ok := ev.(xproto.ClientMessageEvent); ok && m.Type == s.a.status {
			d := m.Data.Data32
			if xproto.Window(d[0]) != target {
				return false, nil
			}
			accepted = d[1]&1 == 1
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		s.send(target, s.a.leave, uint32(s.win), 0, 0, 0, 0)
		return res, err
	}
	if !accepted {
		s.send(target, s.a.leave, uint32(s.win), 0, 0, 0, 0)
		return res, errors.New("xdnd: the target refused the drag (XdndStatus without accept): it does not take " + UriList)
	}
	if err := s.send(target, s.a.drop, uint32(s.win), 0, uint32(now), 0, 0); err != nil {
		return res, fmt.Errorf("xdnd: XdndDrop: %w", err)
	}
	err = s.until("XdndFinished", func(ev xgb.Event) (bool, error) {
		switch e := ev.(type) {
		case xproto.SelectionRequestEvent:
			name := atomName(c, e.Target)
			res.Requests = append(res.Requests, name)
			return false, s.answer(e, body)
		case xproto.ClientMessageEvent:
			if e.Type == s.a.finished && xproto.Window(e.Data.Data32[0]) == target {
				// Before version 5 the finished message carries no result.
				// From 5 on, bit 0 of l[1] is success and l[2] the action
				// done (None when refused). GLFW 3.3 puts the number of
				// bytes it read in l[1], so an even-length list clears bit
				// 0: its action (XdndActionCopy) says it took the drop.
				d := e.Data.Data32
				res.Accepted = res.Version < 5 || d[1]&1 == 1 || xproto.Atom(d[2]) != xproto.AtomNone
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return res, err
	}
	if !res.Accepted {
		return res, fmt.Errorf("xdnd: the target finished the drop without accepting it (it asked for %v)", res.Requests)
	}
	return res, nil
}

// xerrEvent carries an X error through the events channel.
type xerrEvent struct{ err xgb.Error }

func (e xerrEvent) Bytes() []byte      { return nil }
func (e xerrEvent) String() string     { return e.err.Error() }
func (e xerrEvent) SequenceId() uint16 { return e.err.SequenceId() }

// until handles events until done says so, an X error arrives or the time
// is up.
func (s *source) until(stage string, done func(xgb.Event) (bool, error)) error {
	timer := time.NewTimer(time.Until(s.end))
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return fmt.Errorf("xdnd: the X connection closed while waiting for %s", stage)
			}
			if e, isErr := ev.(xerrEvent); isErr {
				return fmt.Errorf("xdnd: X error while waiting for %s: %v", stage, e.err)
			}
			ok, err := done(ev)
			if err != nil {
				return fmt.Errorf("xdnd: while waiting for %s: %w", stage, err)
			}
			if ok {
				return nil
			}
		case <-timer.C:
			return fmt.Errorf("xdnd: timed out waiting for %s from the target", stage)
		}
	}
}

// serverTime gets a server timestamp by touching a property of our window.
func (s *source) serverTime() (xproto.Timestamp, error) {
	if err := xproto.ChangePropertyChecked(s.c, xproto.PropModeReplace, s.win, s.a.timeProbe, xproto.AtomString, 8, 1, []byte{'t'}).Check(); err != nil {
		return 0, fmt.Errorf("xdnd: %w", err)
	}
	var t xproto.Timestamp
	err := s.until("a server timestamp", func(ev xgb.Event) (bool, error) {
		if p, ok := ev.(xproto.PropertyNotifyEvent); ok && p.Window == s.win && p.Atom == s.a.timeProbe {
			t = p.Time
			return true, nil
		}
		return false, nil
	})
	return t, err
}

// send sends a 32-bit client message of type typ to the target.
func (s *source) send(to xproto.Window, typ xproto.Atom, l0, l1, l2, l3, l4 uint32) error {
	ev := xproto.ClientMessageEvent{Format: 32, Window: to, Type: typ,
		Data: xproto.ClientMessageDataUnionData32New([]uint32{l0, l1, l2, l3, l4})}
	return xproto.SendEventChecked(s.c, false, to, xproto.EventMaskNoEvent, string(ev.Bytes())).Check()
}

// answer serves one SelectionRequest: the URI list for text/uri-list, the
// list of types for TARGETS, a refusal for anything else.
func (s *source) answer(e xproto.SelectionRequestEvent, body string) error {
	prop := e.Property
	if prop == xproto.AtomNone {
		prop = e.Target // an obsolete requestor: ICCCM says use the target
	}
	switch {
	case e.Selection != s.a.selection:
		prop = xproto.AtomNone
	case e.Target == s.a.uriList:
		if err := xproto.ChangePropertyChecked(s.c, xproto.PropModeReplace, e.Requestor, prop, s.a.uriList, 8,
			uint32(len(body)), []byte(body)).Check(); err != nil {
			return err
		}
	case e.Target == s.a.targets:
		data := make([]byte, 8)
		xgb.Put32(data, uint32(s.a.targets))
		xgb.Put32(data[4:], uint32(s.a.uriList))
		if err := xproto.ChangePropertyChecked(s.c, xproto.PropModeReplace, e.Requestor, prop, s.a.atom, 32,
			2, data).Check(); err != nil {
			return err
		}
	default:
		prop = xproto.AtomNone
	}
	n := xproto.SelectionNotifyEvent{Time: e.Time, Requestor: e.Requestor, Selection: e.Selection, Target: e.Target, Property: prop}
	return xproto.SendEventChecked(s.c, false, e.Requestor, xproto.EventMaskNoEvent, string(n.Bytes())).Check()
}

// findAware walks the window tree from the root, breadth first, and
// returns the first window with the XdndAware property whose title
// contains title ("" matches any).
func findAware(c *xgb.Conn, a atoms, title string) (xproto.Window, error) {
	root := xproto.Setup(c).DefaultScreen(c).Root
	queue := []xproto.Window{root}
	var seen []string
	for len(queue) > 0 {
		w := queue[0]
		queue = queue[1:]
		if _, err := awareVersion(c, a, w); err == nil {
			name := windowTitle(c, a, w)
			if strings.Contains(name, title) {
				return w, nil
			}
			seen = append(seen, fmt.Sprintf("%q", name))
		}
		tree, err := xproto.QueryTree(c, w).Reply()
		if err != nil {
			continue // the window went away
		}
		queue = append(queue, tree.Children...)
	}
	if len(seen) > 0 {
		return 0, fmt.Errorf("xdnd: no XdndAware window titled %q (found %s)", title, strings.Join(seen, ", "))
	}
	return 0, fmt.Errorf("xdnd: no window with the XdndAware property (has the target's window opened?)")
}

// awareVersion reads a window's XdndAware version.
func awareVersion(c *xgb.Conn, a atoms, w xproto.Window) (int, error) {
	r, err := xproto.GetProperty(c, false, w, a.aware, xproto.AtomAtom, 0, 1).Reply()
	if err != nil {
		return 0, err
	}
	if r.Format != 32 || len(r.Value) < 4 {
		return 0, fmt.Errorf("xdnd: window %d is not XdndAware", w)
	}
	return int(xgb.Get32(r.Value)), nil
}

// windowTitle is _NET_WM_NAME, else WM_NAME.
func windowTitle(c *xgb.Conn, a atoms, w xproto.Window) string {
	for _, p := range []struct{ prop, typ xproto.Atom }{{a.netWMName, a.utf8}, {xproto.AtomWmName, xproto.AtomString}} {
		r, err := xproto.GetProperty(c, false, w, p.prop, p.typ, 0, 256).Reply()
		if err == nil && len(r.Value) > 0 {
			return string(r.Value)
		}
	}
	return ""
}

// dropPoint is the root coordinates of (x, y) inside w, its centre when
// both are 0.
func dropPoint(c *xgb.Conn, root, w xproto.Window, x, y int) (int16, int16, error) {
	g, err := xproto.GetGeometry(c, xproto.Drawable(w)).Reply()
	if err != nil {
		return 0, 0, fmt.Errorf("xdnd: target geometry: %w", err)
	}
	if x == 0 && y == 0 {
		x, y = int(g.Width)/2, int(g.Height)/2
	}
	t, err := xproto.TranslateCoordinates(c, w, root, int16(x), int16(y)).Reply()
	if err != nil {
		return 0, 0, fmt.Errorf("xdnd: target position: %w", err)
	}
	return t.DstX, t.DstY, nil
}

func atomName(c *xgb.Conn, a xproto.Atom) string {
	r, err := xproto.GetAtomName(c, a).Reply()
	if err != nil {
		return fmt.Sprint(a)
	}
	return r.Name
}
