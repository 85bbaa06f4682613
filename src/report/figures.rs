//! The report's PNG figures, drawn with plotters into memory and encoded by
//! [`super::encode::png_rgb`]: the incident timeline, the filter stack by altitude, and the
//! evidence weights per suspect. Text uses DejaVu Sans embedded in the binary
//! (`reports/fonts/`), so nothing depends on the fonts of the machine. Labels are English.

use super::encode;
use super::model::{tail, Axis, FilterStack, Mark, MarkStyle, Panel, StackEntry, Timeline};
use crate::verdict::{Suspect, Verdict, NAME_CONFIDENCE};
use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};
use std::sync::OnceLock;

/// DejaVu Sans (Bitstream Vera licence, `reports/fonts/LICENSE-DejaVu.txt`).
const FONT: &[u8] = include_bytes!("../../reports/fonts/DejaVuSans.ttf");
/// The family every text of the figures uses (plotters' default family name, so axis labels
/// use the embedded font too).
const FAMILY: &str = "sans-serif";
/// Width of every figure, pixels (shown at most 1100 CSS pixels wide: sharp when printed).
pub const WIDTH: u32 = 1600;
/// Suspects drawn in the evidence figure at most.
const EVIDENCE_PANELS: usize = 4;

const INK: RGBColor = RGBColor(0x1b, 0x1b, 0x1b);
const GREY: RGBColor = RGBColor(0x75, 0x75, 0x75);
const LIGHT: RGBColor = RGBColor(0xd0, 0xd0, 0xd0);
const RED: RGBColor = RGBColor(0xb3, 0x26, 0x1e);
const RED_FILL: RGBColor = RGBColor(0xfb, 0xd5, 0xd2);
const ORANGE: RGBColor = RGBColor(0xc7, 0x77, 0x00);
const ORANGE_FILL: RGBColor = RGBColor(0xff, 0xe7, 0xc2);
const BLUE: RGBColor = RGBColor(0x3b, 0x6e, 0xb5);
const BLUE_FILL: RGBColor = RGBColor(0xe3, 0xee, 0xfa);
const GREEN: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
const PURPLE: RGBColor = RGBColor(0x6a, 0x1b, 0x9a);
const OBS_FILL: RGBColor = RGBColor(0xf1, 0xf1, 0xf1);

/// One figure: file name, PNG bytes, size and alternative text.
#[derive(Clone, Debug)]
pub struct Figure {
    /// File name written beside the report (`timeline.png` ...).
    pub file: &'static str,
    /// PNG bytes.
    pub png: Vec<u8>,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// What it shows, in words (English).
    pub alt: String,
}

impl Figure {
    /// `data:image/png;base64,...`.
    pub fn data_uri(&self) -> String {
        encode::png_data_uri(&self.png)
    }
}

fn font_ready() -> anyhow::Result<()> {
    static OK: OnceLock<bool> = OnceLock::new();
    if *OK.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok()) {
        Ok(())
    } else {
        Err(anyhow!("the embedded DejaVu Sans font does not load"))
    }
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type Res = anyhow::Result<()>;

/// Draw into a white RGB canvas of `w` x `h` and encode it.
fn render(
    file: &'static str,
    w: u32,
    h: u32,
    alt: String,
    draw: impl FnOnce(&Area) -> Res,
) -> anyhow::Result<Figure> {
    font_ready()?;
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(Figure {
        file,
        png: encode::png_rgb(w, h, &buf),
        width: w,
        height: h,
        alt,
    })
}

fn style(size: u32, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle {
        font: (FAMILY, size).into_font(),
        color: color.to_backend_color(),
        pos: Pos::new(h, v),
    }
}

fn text(a: &Area, s: &str, (x, y): (i32, i32), size: u32, color: RGBColor, h: HPos) -> Res {
    // plotters' ab_glyph layout puts a centred line a little high: move it down.
    let dy = (size as i32 + 4) / 8;
    a.draw(&Text::new(
        s.to_string(),
        (x, y + dy),
        style(size, color, h, VPos::Center),
    ))?;
    Ok(())
}

fn rect(a: &Area, (x0, y0): (i32, i32), (x1, y1): (i32, i32), fill: RGBColor) -> Res {
    a.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled()))?;
    Ok(())
}

fn frame(
    a: &Area,
    p0: (i32, i32),
    p1: (i32, i32),
    fill: RGBColor,
    border: RGBColor,
    w: u32,
) -> Res {
    rect(a, p0, p1, fill)?;
    a.draw(&Rectangle::new([p0, p1], border.stroke_width(w)))?;
    Ok(())
}

fn line(a: &Area, pts: Vec<(i32, i32)>, color: RGBColor, w: u32) -> Res {
    a.draw(&PathElement::new(pts, color.stroke_width(w)))?;
    Ok(())
}

fn dashed(a: &Area, p0: (i32, i32), p1: (i32, i32), color: RGBColor, w: u32) -> Res {
    a.draw(&DashedPathElement::new(
        vec![p0, p1],
        8,
        6,
        color.stroke_width(w),
    ))?;
    Ok(())
}

fn triangle(a: &Area, (x, y): (i32, i32), r: i32, color: RGBColor) -> Res {
    a.draw(&Polygon::new(
        vec![(x, y - r), (x + r, y + r * 3 / 4), (x - r, y + r * 3 / 4)],
        color.filled(),
    ))?;
    Ok(())
}

fn diamond(a: &Area, (x, y): (i32, i32), r: i32, color: RGBColor) -> Res {
    a.draw(&Polygon::new(
        vec![(x, y - r), (x + r, y), (x, y + r), (x - r, y)],
        color.filled(),
    ))?;
    Ok(())
}

/// Clock text of an instant, with `decimals` fractional second digits.
fn clock(t_ns: i64, decimals: usize) -> String {
    let secs = t_ns.div_euclid(1_000_000_000);
    let frac = t_ns.rem_euclid(1_000_000_000);
    let day = secs.rem_euclid(86_400);
    let (h, m, s) = (day / 3600, day / 60 % 60, day % 60);
    if decimals == 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        let f = format!("{frac:09}");
        format!("{h:02}:{m:02}:{s:02}.{}", &f[..decimals.min(9)])
    }
}

/// `YYYY-MM-DD` of an instant (UTC).
fn date(t_ns: i64) -> String {
    chrono::DateTime::from_timestamp(t_ns.div_euclid(1_000_000_000), 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Tick-label decimals for a span of `span_s` seconds.
fn decimals_for(span_s: f64) -> usize {
    if span_s <= 0.0 {
        return 3;
    }
    (-(span_s / 10.0).log10().floor()).clamp(0.0, 6.0) as usize
}

fn mark_color(s: MarkStyle) -> RGBColor {
    match s {
        MarkStyle::Span => BLUE,
        MarkStyle::Denied => RED,
        MarkStyle::AclDenied => GREY,
        MarkStyle::NamedActivity => RED,
        MarkStyle::SuspectActivity => ORANGE,
        MarkStyle::Other => GREY,
        MarkStyle::LogFailure => PURPLE,
    }
}

const LANE_H: u32 = 58;
const PANEL_EXTRA: u32 = 130;
const LEGEND_H: u32 = 56;
const LABEL_W: i32 = 440;

fn panel_height(p: &Panel) -> u32 {
    PANEL_EXTRA + LANE_H * p.lanes.len().max(1) as u32
}

/// Figure (a): the incident timeline.
pub fn timeline(tl: &Timeline) -> anyhow::Result<Figure> {
    let h: u32 = tl.panels.iter().map(panel_height).sum::<u32>().max(160) + LEGEND_H;
    let alt = match tl.panels.first() {
        Some(p) => format!(
            "Timeline from {} to {} UTC: {}",
            clock(p.start_ns, 3),
            clock(p.end_ns, 3),
            p.lanes
                .iter()
                .map(|l| l.label.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
        None => "Timeline: the capture holds no event".into(),
    };
    render("timeline.png", WIDTH, h, alt, |root| {
        if tl.panels.is_empty() {
            text(
                root,
                "The capture holds no event: nothing to draw.",
                (40, 80),
                24,
                INK,
                HPos::Left,
            )?;
            return Ok(());
        }
        let mut rest = root.clone();
        for p in &tl.panels {
            let (top, below) = rest.split_vertically(panel_height(p));
            draw_panel(root, &top, p)?;
            rest = below;
        }
        let styles: Vec<MarkStyle> = tl
            .panels
            .iter()
            .flat_map(|p| p.lanes.iter().flat_map(|l| l.marks.iter().map(|m| m.style)))
            .collect();
        timeline_legend(root, h as i32 - LEGEND_H as i32 / 2, &styles)
    })
}

fn draw_panel(root: &Area, area: &Area, p: &Panel) -> Res {
    let n = p.lanes.len().max(1);
    let span_ns = (p.end_ns - p.start_ns).max(1);
    let pad = span_ns / 40;
    // x: seconds since midnight UTC of the first day (Clock), or ms from t0 (MsFrom).
    let day0 = p.start_ns.div_euclid(86_400_000_000_000) * 86_400_000_000_000;
    let to_x = |t: i64| -> f64 {
        match p.axis {
            Axis::Clock => (t - day0) as f64 / 1e9,
            Axis::MsFrom(t0) => (t - t0) as f64 / 1e6,
        }
    };
    let (x0, x1) = (to_x(p.start_ns - pad), to_x(p.end_ns + pad));
    let dec = decimals_for(span_ns as f64 / 1e9);
    let fmt_clock = move |x: &f64| clock(day0 + (x * 1e9).round() as i64, dec);
    let fmt_ms = |x: &f64| format!("{x:+.2} ms");
    let fmt: &dyn Fn(&f64) -> String = match p.axis {
        Axis::Clock => &fmt_clock,
        Axis::MsFrom(_) => &fmt_ms,
    };
    let desc = match p.axis {
        Axis::Clock => format!("time of day, UTC ({})", date(p.start_ns)),
        Axis::MsFrom(t0) => format!(
            "milliseconds from the start of the denied operation ({} UTC)",
            clock(t0, 7)
        ),
    };
    let mut chart = ChartBuilder::on(area)
        .margin_left(LABEL_W as u32)
        .margin_right(50)
        .margin_top(12)
        .caption(&p.title, (FAMILY, 28).into_font().color(&INK))
        .x_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0f64..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_labels(9)
        .x_label_formatter(fmt)
        .x_desc(desc)
        .label_style((FAMILY, 19).into_font().color(&INK))
        .axis_desc_style((FAMILY, 20).into_font().color(&GREY))
        .light_line_style(RGBColor(0xf0, 0xf0, 0xf0))
        .bold_line_style(RGBColor(0xe2, 0xe2, 0xe2))
        .draw()?;
    let lane_y = |i: usize, dy: f64| (n - 1 - i) as f64 + 0.5 + dy;
    let px = |t: i64, y: f64| chart.backend_coord(&(to_x(t), y));
    // Lane separators and labels.
    let (left, _) = px(p.start_ns - pad, 0.0);
    let (right, _) = px(p.end_ns + pad, 0.0);
    for (i, lane) in p.lanes.iter().enumerate() {
        let (_, yc) = px(p.start_ns, lane_y(i, 0.0));
        let (_, yb) = px(p.start_ns, lane_y(i, -0.5));
        if i + 1 < n {
            line(
                root,
                vec![(left, yb), (right, yb)],
                RGBColor(0xe8, 0xe8, 0xe8),
                1,
            )?;
        }
        text(root, &tail(&lane.label, 40), (24, yc), 20, INK, HPos::Left)?;
    }
    // Guides: the denials ordinary ACLs do not explain, across every lane.
    let (_, ytop) = px(p.start_ns, n as f64);
    let (_, ybot) = px(p.start_ns, 0.0);
    for g in &p.guides {
        let (x, _) = px(*g, 0.0);
        dashed(root, (x, ytop), (x, ybot), RGBColor(0xe5, 0x9a, 0x95), 2)?;
    }
    for (i, lane) in p.lanes.iter().enumerate() {
        let mut last_px: Option<i32> = None;
        for m in &lane.marks {
            let (x, yc) = px(m.t_ns, lane_y(i, 0.0));
            match m.end_ns {
                Some(end) => span_mark(root, p, m, end, (x, yc), &px(end, lane_y(i, 0.0)))?,
                None => {
                    // Point marks closer than a pixel are drawn once.
                    if last_px == Some(x) && m.label.is_none() {
                        continue;
                    }
                    last_px = Some(x);
                    point_mark(root, m.style, (x, yc))?;
                }
            }
            if let (Some(label), None) = (&m.label, m.end_ns) {
                // Labels go right of the mark, or left when near the right edge.
                let (lx, hp) = if x > right - 520 {
                    (x - 16, HPos::Right)
                } else {
                    (x + 16, HPos::Left)
                };
                text(root, label, (lx, yc - 16), 18, mark_color(m.style), hp)?;
            }
        }
    }
    Ok(())
}

fn span_mark(
    root: &Area,
    p: &Panel,
    m: &Mark,
    end: i64,
    (x, yc): (i32, i32),
    e: &(i32, i32),
) -> Res {
    let x1 = e.0.max(x + 2);
    let (fill, border) = match m.style {
        MarkStyle::Denied => (RED_FILL, RED),
        MarkStyle::LogFailure => (RGBColor(0xee, 0xdd, 0xf5), PURPLE),
        _ => (BLUE_FILL, BLUE),
    };
    frame(root, (x, yc - 15), (x1, yc + 15), fill, border, 2)?;
    if let Some(label) = &m.label {
        let full = match p.axis {
            Axis::Clock => format!("{label}: {} – {}", clock(m.t_ns, 3), clock(end, 3)),
            Axis::MsFrom(_) => label.clone(),
        };
        let max_chars = ((x1 - x - 20).max(0) / 10) as usize;
        if max_chars >= 12 {
            text(
                root,
                &tail(&full, max_chars),
                (x + 10, yc),
                18,
                INK,
                HPos::Left,
            )?;
        } else {
            text(root, &full, (x1 + 10, yc), 18, INK, HPos::Left)?;
        }
    }
    Ok(())
}

fn point_mark(root: &Area, s: MarkStyle, (x, y): (i32, i32)) -> Res {
    match s {
        MarkStyle::Denied => triangle(root, (x, y), 11, RED),
        MarkStyle::AclDenied => {
            root.draw(&Circle::new((x, y), 8, GREY.filled()))?;
            Ok(())
        }
        MarkStyle::NamedActivity | MarkStyle::SuspectActivity | MarkStyle::Other => {
            let half = if s == MarkStyle::Other { 10 } else { 17 };
            line(root, vec![(x, y - half), (x, y + half)], mark_color(s), 3)
        }
        MarkStyle::LogFailure => diamond(root, (x, y), 10, PURPLE),
        MarkStyle::Span => line(root, vec![(x, y - 15), (x, y + 15)], BLUE, 3),
    }
}

fn timeline_legend(root: &Area, y: i32, present: &[MarkStyle]) -> Res {
    let items: [(MarkStyle, &str); 6] = [
        (MarkStyle::Denied, "denial ordinary ACLs do not explain"),
        (MarkStyle::AclDenied, "ACL-plausible denial"),
        (
            MarkStyle::NamedActivity,
            "event with the named driver's frames",
        ),
        (MarkStyle::SuspectActivity, "event with a suspect's frames"),
        (MarkStyle::Other, "other event"),
        (MarkStyle::LogFailure, "failure reported by a log"),
    ];
    let mut x = 30;
    for (s, label) in items {
        if !present.contains(&s) {
            continue;
        }
        point_mark(root, s, (x + 10, y))?;
        text(root, label, (x + 30, y), 18, INK, HPos::Left)?;
        x += 40 + label.chars().count() as i32 * 10;
    }
    Ok(())
}

const ROW_H: i32 = 54;
const ROW_GAP: i32 = 8;

fn entry_colors(mark: &str) -> (RGBColor, RGBColor, u32, RGBColor) {
    match mark {
        "named" => (RED_FILL, RED, 4, INK),
        "suspect" => (ORANGE_FILL, ORANGE, 3, INK),
        "observer" => (OBS_FILL, RGBColor(0xbb, 0xbb, 0xbb), 1, GREY),
        _ => (BLUE_FILL, BLUE, 1, INK),
    }
}

fn stack_box(root: &Area, e: &StackEntry, (x0, y0): (i32, i32), w: i32, altitude: bool) -> Res {
    let (fill, border, bw, ink) = entry_colors(e.mark);
    frame(root, (x0, y0), (x0 + w, y0 + ROW_H), fill, border, bw)?;
    let yc = y0 + ROW_H / 2;
    let mut x = x0 + 14;
    if altitude {
        text(
            root,
            e.altitude.as_deref().unwrap_or(""),
            (x, yc),
            21,
            ink,
            HPos::Left,
        )?;
        x += 130;
    }
    text(root, &tail(&e.driver, 26), (x, yc), 22, ink, HPos::Left)?;
    let mut right = e.group.clone();
    if let Some(n) = e.instances {
        right = format!("{right} · {n} instance(s)");
    }
    if right.is_empty() {
        right = e.company.clone();
    }
    let tag = match e.mark {
        "named" => "NAMED · ",
        "suspect" => "suspect · ",
        _ => "",
    };
    let right = format!("{tag}{}", tail(&right, if altitude { 34 } else { 22 }));
    text(
        root,
        &right,
        (x0 + w - 14, yc),
        18,
        if e.mark == "named" { RED } else { GREY },
        HPos::Right,
    )?;
    Ok(())
}

/// Figure (b): the filter stack by altitude, the suspects marked; drivers without an altitude
/// apart.
pub fn filter_stack(st: &FilterStack) -> anyhow::Result<Figure> {
    let rows_a = st.minifilters.len().max(1) as i32 + 1; // + the file-system box
    let rows_b = st.others.len().max(1) as i32;
    let header = 150;
    let h = (header + rows_a.max(rows_b) * (ROW_H + ROW_GAP) + 30 + LEGEND_H as i32) as u32;
    let alt = format!(
        "Filter stack, highest altitude first: {}. No allocated altitude: {}.",
        if st.minifilters.is_empty() {
            "none".to_string()
        } else {
            st.minifilters
                .iter()
                .map(|e| {
                    format!(
                        "{} {}{}",
                        e.altitude.as_deref().unwrap_or(""),
                        e.driver,
                        if e.mark == "named" { " (named)" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        },
        if st.others.is_empty() {
            "none".to_string()
        } else {
            st.others
                .iter()
                .map(|e| {
                    format!(
                        "{}{}",
                        e.driver,
                        if e.mark == "named" { " (named)" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    render("filter_stack.png", WIDTH, h, alt, |root| {
        let (ax, aw) = (30, 900);
        let (bx, bw) = (1000, 570);
        text(
            root,
            "Minifilter stack, highest altitude first",
            (ax, 34),
            28,
            INK,
            HPos::Left,
        )?;
        text(
            root,
            if st.from_fltmc {
                "altitudes and instances from the machine's fltmc output"
            } else {
                "altitudes from Microsoft's allocated list; Procmon at its instance altitude"
            },
            (ax, 72),
            18,
            GREY,
            HPos::Left,
        )?;
        text(root, "No allocated altitude", (bx, 34), 28, INK, HPos::Left)?;
        text(
            root,
            "registry callback, legacy filter or not a filter (fltmc does not list these)",
            (bx, 72),
            16,
            GREY,
            HPos::Left,
        )?;
        // Column A: the request enters at the top and reaches the file system at the bottom.
        let mut y = header - 30;
        text(
            root,
            "↓ I/O request from the I/O manager (pre-operation callbacks run top to bottom)",
            (ax + 6, y),
            17,
            GREY,
            HPos::Left,
        )?;
        y += 24;
        if st.minifilters.is_empty() {
            text(
                root,
                "(no loaded driver has an allocated minifilter altitude)",
                (ax + 14, y + ROW_H / 2),
                20,
                GREY,
                HPos::Left,
            )?;
            y += ROW_H + ROW_GAP;
        }
        for e in &st.minifilters {
            stack_box(root, e, (ax, y), aw, true)?;
            y += ROW_H + ROW_GAP;
        }
        frame(
            root,
            (ax, y),
            (ax + aw, y + ROW_H),
            RGBColor(0x55, 0x5b, 0x61),
            RGBColor(0x55, 0x5b, 0x61),
            1,
        )?;
        text(
            root,
            "file system (Ntfs.sys, ...) and the volume",
            (ax + 14, y + ROW_H / 2),
            20,
            WHITE,
            HPos::Left,
        )?;
        // Column B.
        let mut y = header - 6;
        if st.others.is_empty() {
            text(
                root,
                "(none)",
                (bx + 14, y + ROW_H / 2),
                20,
                GREY,
                HPos::Left,
            )?;
        }
        for e in &st.others {
            stack_box(root, e, (bx, y), bw, false)?;
            y += ROW_H + ROW_GAP;
        }
        // Legend.
        let ly = h as i32 - LEGEND_H as i32 / 2;
        let mut x = 30;
        for (mark, label) in [
            ("named", "named driver"),
            ("suspect", "suspect"),
            ("candidate", "candidate (no evidence)"),
            ("observer", "observer, never a suspect"),
        ] {
            let (fill, border, bw, _) = entry_colors(mark);
            frame(
                root,
                (x, ly - 12),
                (x + 34, ly + 12),
                fill,
                border,
                bw.min(3),
            )?;
            text(root, label, (x + 46, ly), 18, INK, HPos::Left)?;
            x += 90 + label.chars().count() as i32 * 10;
        }
        Ok(())
    })
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

const EV_ROW: u32 = 46;
const EV_EXTRA: u32 = 150;

fn evidence_height(s: &Suspect) -> u32 {
    EV_EXTRA + EV_ROW * (s.evidence.len() as u32 + 1)
}

/// Figure (c): each suspect's evidence as a waterfall of log-odds from the prior to the
/// score, with the naming threshold.
pub fn evidence(v: &Verdict) -> anyhow::Result<Figure> {
    let shown: Vec<&Suspect> = v.suspects.iter().take(EVIDENCE_PANELS).collect();
    let h = if shown.is_empty() {
        200
    } else {
        shown.iter().map(|s| evidence_height(s)).sum::<u32>() + 20
    };
    let alt = if shown.is_empty() {
        "Evidence weights: no driver has evidence of its own.".to_string()
    } else {
        shown
            .iter()
            .map(|s| {
                format!(
                    "{}: {} = score {:+.1}, confidence {:.2}",
                    s.driver,
                    s.evidence
                        .iter()
                        .map(|e| format!("{} {:+.1}", e.kind, e.weight))
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.score,
                    s.confidence
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    render("evidence.png", WIDTH, h, alt, |root| {
        if shown.is_empty() {
            text(
                root,
                "Evidence weights: no driver has evidence of its own about a denial (no suspect).",
                (40, 100),
                24,
                INK,
                HPos::Left,
            )?;
            return Ok(());
        }
        let mut rest = root.clone();
        for s in &shown {
            let (top, below) = rest.split_vertically(evidence_height(s));
            evidence_panel(root, &top, s)?;
            rest = below;
        }
        Ok(())
    })
}

fn evidence_panel(root: &Area, area: &Area, s: &Suspect) -> Res {
    let thr = logit(NAME_CONFIDENCE);
    let mut cum = vec![0.0];
    for e in &s.evidence {
        cum.push(cum.last().copied().unwrap_or(0.0) + e.weight);
    }
    let lo = cum.iter().copied().fold(0.0_f64, f64::min).min(thr);
    let hi = cum.iter().copied().fold(0.0_f64, f64::max).max(thr);
    let (x0, x1) = (lo - 0.8, hi + 1.6);
    let n = s.evidence.len() + 1;
    let title = format!(
        "{}{} — score {:+.1} → confidence {:.2}",
        s.driver,
        if s.named { " (named)" } else { "" },
        s.score,
        s.confidence
    );
    let mut chart = ChartBuilder::on(area)
        .margin_left(330)
        .margin_right(50)
        .margin_top(12)
        .caption(
            title,
            (FAMILY, 28)
                .into_font()
                .color(if s.named { &RED } else { &INK }),
        )
        .x_label_area_size(64)
        .build_cartesian_2d(x0..x1, 0f64..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_labels(10)
        .x_label_formatter(&|x| format!("{x:+.0}"))
        .x_desc("log-odds, cumulative (confidence = logistic of the sum)")
        .label_style((FAMILY, 19).into_font().color(&INK))
        .axis_desc_style((FAMILY, 20).into_font().color(&GREY))
        .light_line_style(RGBColor(0xf3, 0xf3, 0xf3))
        .bold_line_style(RGBColor(0xe2, 0xe2, 0xe2))
        .draw()?;
    let row_y = |i: usize, dy: f64| (n - 1 - i) as f64 + 0.5 + dy;
    let px = |x: f64, y: f64| chart.backend_coord(&(x, y));
    let (_, ytop) = px(0.0, n as f64);
    let (_, ybot) = px(0.0, 0.0);
    let (zx, _) = px(0.0, 0.0);
    line(root, vec![(zx, ytop), (zx, ybot)], GREY, 2)?;
    let (tx, _) = px(thr, 0.0);
    dashed(root, (tx, ytop), (tx, ybot), RED, 2)?;
    text(
        root,
        &format!("name threshold: confidence {NAME_CONFIDENCE} = {thr:+.2}"),
        (tx + 8, ytop + 12),
        16,
        RED,
        HPos::Left,
    )?;
    for (i, e) in s.evidence.iter().enumerate() {
        let (a, b) = (cum[i], cum[i + 1]);
        let (xa, y0) = px(a.min(b), row_y(i, 0.3));
        let (xb, y1) = px(a.max(b), row_y(i, -0.3));
        let color = if e.kind == "prior" {
            RGBColor(0x9e, 0x9e, 0x9e)
        } else if e.weight > 0.0 {
            RED
        } else if e.weight < 0.0 {
            GREEN
        } else {
            LIGHT
        };
        let (_, yc) = px(a, row_y(i, 0.0));
        if (xb - xa) < 3 {
            line(root, vec![(xa, y0), (xa, y1)], GREY, 2)?;
        } else {
            rect(root, (xa, y0), (xb, y1), color)?;
        }
        // Connector to the next row.
        if i + 1 < n {
            let (cx, _) = px(b, 0.0);
            let (_, yn) = px(b, row_y(i + 1, 0.3));
            dashed(root, (cx, y1), (cx, yn), LIGHT, 1)?;
        }
        let label = format!("{:+.1}", e.weight);
        text(root, &label, (xb + 10, yc), 19, INK, HPos::Left)?;
        let name = if e.key != e.kind && !e.key.is_empty() {
            format!(
                "{} ({})",
                e.kind,
                e.key.trim_start_matches(&format!("{}_", e.kind))
            )
        } else {
            e.kind.clone()
        };
        text(root, &tail(&name, 30), (20, yc), 20, INK, HPos::Left)?;
    }
    // The score row.
    let i = n - 1;
    let (xa, y0) = px(0.0_f64.min(s.score), row_y(i, 0.3));
    let (xb, y1) = px(0.0_f64.max(s.score), row_y(i, -0.3));
    let (_, yc) = px(0.0, row_y(i, 0.0));
    rect(
        root,
        (xa, y0),
        (xb.max(xa + 2), y1),
        if s.named {
            RED
        } else {
            RGBColor(0x45, 0x5a, 0x64)
        },
    )?;
    text(
        root,
        &format!("{:+.1} → {:.2}", s.score, s.confidence),
        (xb.max(xa + 2) + 10, yc),
        20,
        INK,
        HPos::Left,
    )?;
    text(root, "score (sum)", (20, yc), 20, INK, HPos::Left)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_and_decimals() {
        // 2024-09-10T02:44:43.9512418Z
        let t = 1_725_936_283_951_241_800;
        assert_eq!(clock(t, 0), "02:44:43");
        assert_eq!(clock(t, 3), "02:44:43.951");
        assert_eq!(date(t), "2024-09-10");
        assert_eq!(decimals_for(17.0), 0);
        assert_eq!(decimals_for(3.0), 1);
        assert_eq!(decimals_for(0.004), 4);
    }

    #[test]
    fn a_figure_is_a_png_of_the_stated_size() {
        let f = evidence(
            &crate::verdict::analyze(&crate::evidence::synthetic::Builder::new().build()).unwrap(),
        )
        .unwrap();
        assert_eq!(f.png[..8], encode::PNG_SIGNATURE);
        assert_eq!(f.png[16..20], f.width.to_be_bytes());
        assert_eq!(f.png[20..24], f.height.to_be_bytes());
        assert!(f.alt.contains("no driver has evidence"));
    }
}
