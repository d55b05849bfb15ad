//go:build browser

package web

// The pages in a real browser: Debian's chromium, headless, driven by
// chromedp. Run by make browser-test (scripts/browser-test.sh installs
// chromium first); it fails, never skips, without a browser.

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/netoops/netoops/internal/catcher/catalog"
	"github.com/netoops/netoops/internal/catcher/index"
)

// outDir is where the screenshots go: out/web at the repository's top.
const outDir = "../../../out/web"

func TestBrowser(t *testing.T) {
	bin := os.Getenv("CHROMIUM")
	if bin == "" {
		bin = "chromium"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("no browser %q (%v): install Debian's chromium (apt-get install -y chromium), or run make browser-test, which does", bin, err)
	}
	dir := t.TempDir()
	MakeStore(t, dir)
	x, err := index.Open(index.DefaultPath(dir), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if _, err := x.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&Server{Dir: dir, Q: x, Now: func() time.Time {
		return time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	}}).Handler())
	defer srv.Close()
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil { // starts the browser
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(2*time.Minute, cancel)
	defer watchdog.Stop()

	var dialogs atomic.Int32
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range events {
			if err != nil {
				return
			}
			dialogs.Add(1)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	eval := func(expr string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	shoot := func(name string) {
		t.Helper()
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(outDir, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	location := func() string {
		t.Helper()
		l, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	// The groups page, a group, one of its dumps.
	const title = "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`table.groups`)),
	); err != nil {
		t.Fatal(err)
	}
	shoot("groups.png")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//table[contains(@class,"groups")]//a[text()="`+title+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.dumps`)),
	); err != nil {
		t.Fatal(err)
	}
	groupURL := location()
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`table.dumps a.open`)),
		chromedp.WaitVisible(chromedp.CSS(`pre.log span.hot`)),
	); err != nil {
		t.Fatal(err)
	}
	dumpURL := location()
	if !strings.Contains(groupURL, "/group/") || !strings.Contains(dumpURL, "/dump/") {
		t.Fatalf("followed %s then %s", groupURL, dumpURL)
	}
	shoot("dump.png")
	// The panic line is there, highlighted (its own background and
	// weight), the boot part folded.
	const panicLine = `[...document.querySelectorAll("pre.log span.hot")].find(e => e.textContent.includes("Kernel panic - not syncing: sysrq triggered crash"))`
	hot, _ := eval(`[...document.querySelectorAll("pre.log span.hot")].map(e => e.textContent).join("\n")`).(string)
	bg, _ := eval(`getComputedStyle(` + panicLine + `).backgroundColor`).(string)
	plain, _ := eval(`getComputedStyle(document.querySelector("pre.log span:not(.hot):not(.r)") || document.body).backgroundColor`).(string)
	weight, _ := eval(`getComputedStyle(` + panicLine + `).fontWeight`).(string)
	visible, _ := eval(`(() => { const r = (` + panicLine + `).getBoundingClientRect(); return r.width > 0 && r.height > 0 })()`).(bool)
	bootOpen, _ := eval(`document.querySelector("details.boot").open`).(bool)
	bootShown, _ := eval(`document.querySelector("details.boot pre").checkVisibility()`).(bool)
	if !strings.Contains(hot, "Kernel panic - not syncing: sysrq triggered crash") || !strings.Contains(hot, "BUG: kernel NULL pointer dereference, address") {
		t.Fatalf("highlighted lines: %q", hot)
	}
	if !visible || bg == "" || bg == "rgba(0, 0, 0, 0)" || bg == plain || weight != "700" {
		t.Fatalf("panic line not highlighted: shown %v, background %q (plain lines %q), weight %q", visible, bg, plain, weight)
	}
	if bootOpen || bootShown {
		t.Fatalf("boot part not folded: open %v, shown %v", bootOpen, bootShown)
	}

	// Hostile names and lines run nothing and show as text.
	scan, err := catalog.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	ds, _, _ := scan.Dumps(context.Background(), catalog.Filter{Host: HostileHost}, catalog.Page{})
	if len(ds) != 1 {
		t.Fatalf("%d hostile dumps", len(ds))
	}
	hd := url.PathEscape(ds[0].Dir)
	for _, p := range []string{"/", "/host/" + hd, "/group/" + ds[0].Signature, "/dump/" + hd + "/" + ds[0].Name} {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+p), chromedp.WaitReady(chromedp.CSS(`footer`))); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		pwned, _ := eval(`window.pwned !== undefined`).(bool)
		injected, _ := eval(`document.querySelectorAll("script, img, [onerror]").length`).(float64)
		// textContent: the folded part too. Markup parsed as elements
		// would not be in it as text.
		text, _ := eval(`document.body.textContent`).(string)
		if pwned || injected != 0 {
			t.Errorf("%s: hostile input ran (pwned %v) or made elements (%v)", p, pwned, injected)
		}
		if p != "/" && !strings.Contains(text, HostileHost) {
			t.Errorf("%s: the hostile host name is not shown literally", p)
		}
		if strings.HasPrefix(p, "/dump/") {
			if !strings.Contains(text, `<script>window.pwned=1;alert("log")</script> "><img src=x onerror=window.pwned=2>`) ||
				!strings.Contains(text, HostileLabel) {
				t.Errorf("%s: the hostile log line or label is not shown literally", p)
			}
			shoot("hostile.png")
		}
	}
	time.Sleep(200 * time.Millisecond) // a dialog would have opened by now
	if n := dialogs.Load(); n != 0 {
		t.Fatalf("%d dialogs opened", n)
	}
	// The detectors work: a script that runs is seen.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	if eval(`window.pwned = 1; setTimeout(() => alert("probe"), 0); window.pwned !== undefined`) != true {
		t.Fatal("probe did not run")
	}
	deadline := time.Now().Add(5 * time.Second)
	for dialogs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if dialogs.Load() != 1 {
		t.Fatal("the dialog listener saw no dialog from the probe")
	}
}
