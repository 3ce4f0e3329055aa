package reports

import (
	"bytes"
	"context"
	"encoding/json"
	stdhtml "html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium is where the browser test looks for a browser (Debian: apt-get install -y chromium).
const chromium = "/usr/bin/chromium"

// headless runs chromium on a page from disk with networking off and a fresh profile, and returns its
// stdout and stderr (console messages appear in stderr as ":CONSOLE" log lines).
func headless(t *testing.T, page string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--host-resolver-rules=MAP * ~NOTFOUND",
		"--enable-logging=stderr", "--v=0", "--hide-scrollbars",
	}
	cmd := exec.CommandContext(ctx, chromium, append(append(base, args...), "file://"+page)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	require.NoError(t, cmd.Run(), "chromium failed:\n%s", errb.String())
	return out.String(), errb.String()
}

// probe is added to a copy of the report for the browser to measure what a reader sees; the report itself
// has no script and a Content-Security-Policy that would forbid this one.
const probe = `<script>
(function () {
  var out = {items: [], resources: [], wraps: []};
  function check(sel, name) {
    document.querySelectorAll(sel).forEach(function (el, i) {
      el.scrollIntoView({block: "center"});
      var r = el.getBoundingClientRect(), cs = getComputedStyle(el);
      var top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      var box = el.closest("figure") || el;
      out.items.push({name: name + " " + (box.id || i), w: r.width, h: r.height, visibility: cs.visibility,
        display: cs.display, opacity: cs.opacity, covered: !(top && (el === top || el.contains(top)))});
    });
  }
  check("#comparison-table", "table");
  check("#points-table", "table");
  check("#checks-table", "table");
  out.wraps = [];
  document.querySelectorAll(".table-wrap").forEach(function (el, i) {
    var t = el.querySelector("table");
    out.wraps.push({name: (t && t.id) || String(i), scroll: el.scrollWidth, client: el.clientWidth});
  });
  check("figure.chart svg", "chart");
  check("#reading li", "reading");
  out.resources = performance.getEntriesByType("resource").map(function (e) { return e.name; });
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
</body>`

type probeItem struct {
	Name       string
	W, H       float64
	Visibility string
	Display    string
	Opacity    string
	Covered    bool
}

// TestHTMLInBrowser loads report.html in headless Chromium from disk with networking disabled: the page
// renders with no console message (no error, no blocked load), every chart and the table are laid out at a
// readable size, visible and not covered, no table is cut off (needs a scroll bar) in a 1400 px window, and
// nothing was fetched.
func TestHTMLInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium: the full run does it")
	}
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("STAMPEDE_REQUIRE_BROWSER") != "" { // CI installs chromium: a skip there would hide a broken install
			t.Fatal("STAMPEDE_REQUIRE_BROWSER is set but " + chromium + " is missing: " + err.Error())
		}
		t.Skip("chromium not installed (apt-get update && apt-get install -y chromium): " + err.Error())
	}
	for _, fx := range []string{"herd", "tune"} { // a plain comparison, and a tune sweep with its points and heat maps
		t.Run(fx, func(t *testing.T) { browse(t, fx) })
	}
}

func browse(t *testing.T, fx string) {
	dir := t.TempDir()
	scenario, err := os.ReadFile("testdata/herd.yaml")
	require.NoError(t, err)
	f := fixture(t, fx)
	require.NoError(t, WriteAllWith(dir, f, Meta{Version: "test", ScenarioFile: "testdata/herd.yaml", ScenarioYAML: string(scenario), WallTime: 1500 * time.Millisecond}, Options{SkipPNG: true}))
	page := filepath.Join(dir, "report.html")

	t.Run("renders without console messages", func(t *testing.T) {
		shot := filepath.Join(dir, "screenshot.png")
		_, stderr := headless(t, page, "--window-size=1280,2400", "--screenshot="+shot)
		for _, line := range strings.Split(stderr, "\n") {
			assert.NotContains(t, line, ":CONSOLE", "console message")
		}
		r, err := os.Open(shot)
		require.NoError(t, err)
		defer r.Close()
		img, err := png.Decode(r)
		require.NoError(t, err)
		assert.Equal(t, 1280, img.Bounds().Dx())
		// Not a blank page: a good share of the pixels are not white.
		inked, total := 0, 0
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 4 {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 4 {
				r, g, b, _ := img.At(x, y).RGBA()
				if r < 0xf000 || g < 0xf000 || b < 0xf000 {
					inked++
				}
				total++
			}
		}
		assert.Greater(t, float64(inked)/float64(total), 0.03, "the screenshot is nearly blank")
		if out := os.Getenv("STAMPEDE_SCREENSHOT"); out != "" { // keep the screenshot to look at
			data, _ := os.ReadFile(shot)
			require.NoError(t, os.WriteFile(out, data, 0o644))
		}
	})

	t.Run("table and every chart visible", func(t *testing.T) {
		src, err := os.ReadFile(page)
		require.NoError(t, err)
		csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy"[^>]*>`)
		require.True(t, csp.Match(src), "the report forbids loading anything")
		probed := strings.Replace(csp.ReplaceAllString(string(src), ""), "</body>", probe, 1)
		probedPage := filepath.Join(dir, "probed.html")
		require.NoError(t, os.WriteFile(probedPage, []byte(probed), 0o644))

		dom, stderr := headless(t, probedPage, "--window-size=1400,900", "--dump-dom")
		m := regexp.MustCompile(`(?s)<pre id="probe">(.*?)</pre>`).FindStringSubmatch(dom)
		require.NotNil(t, m, "probe output missing; chromium said:\n%s", stderr)
		var got struct {
			Items     []probeItem
			Resources []string
			Wraps     []struct {
				Name           string
				Scroll, Client float64
			}
		}
		require.NoError(t, json.Unmarshal([]byte(stdhtml.UnescapeString(m[1])), &got))

		assert.Empty(t, got.Resources, "the page fetched something")
		charts, err := Charts(f)
		require.NoError(t, err)
		want := map[string]bool{"table comparison-table": false}
		if f.Tune != nil {
			want = map[string]bool{"table points-table": false}
		}
		for _, c := range charts {
			want["chart chart-"+c.Name] = false
		}
		for _, it := range got.Items {
			if _, ok := want[it.Name]; ok {
				want[it.Name] = true
			}
			minW, minH := 200.0, 20.0
			if strings.HasPrefix(it.Name, "chart") {
				minW, minH = 800, 400 // 16:9 at most of the page width: readable
			}
			if strings.HasPrefix(it.Name, "table") {
				minW, minH = 600, 150
			}
			assert.GreaterOrEqual(t, it.W, minW, "%s too narrow", it.Name)
			assert.GreaterOrEqual(t, it.H, minH, "%s too short", it.Name)
			assert.Equal(t, "visible", it.Visibility, it.Name)
			assert.NotEqual(t, "none", it.Display, it.Name)
			assert.Equal(t, "1", it.Opacity, it.Name)
			assert.False(t, it.Covered, "%s is covered by another element", it.Name)
		}
		for name, seen := range want {
			assert.True(t, seen, "%s not found on the page", name)
		}
		require.NotEmpty(t, got.Wraps)
		for _, w := range got.Wraps {
			assert.LessOrEqual(t, w.Scroll, w.Client, "table %s is cut off at 1400 px: %v of %v px shown", w.Name, w.Client, w.Scroll)
		}
	})

}
