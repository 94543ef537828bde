//! Calendar arithmetic and the mapping between TIMEX3 values and calendar-day intervals.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Grammatical time orientation of the clause around an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tense {
    Past,
    Present,
    Future,
    Unknown,
}

/// Which occurrence of a recurring calendar unit (weekday, month, day of year) is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    /// On or before the anchor (past tense).
    OnOrBefore,
    /// On or after the anchor (future tense).
    OnOrAfter,
    /// Strictly before ("last Friday").
    Before,
    /// Strictly after ("next Friday").
    After,
    /// Closest to the anchor either way (present or unknown tense).
    Nearest,
}

impl Pick {
    pub(crate) fn from_tense(t: Tense) -> Pick {
        match t {
            Tense::Past => Pick::OnOrBefore,
            Tense::Future => Pick::OnOrAfter,
            Tense::Present | Tense::Unknown => Pick::Nearest,
        }
    }
}

pub(crate) fn fmt_day(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

pub(crate) fn fmt_month(y: i32, m: u32) -> String {
    format!("{y:04}-{m:02}")
}

pub(crate) fn fmt_week(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{:04}-W{:02}", w.year(), w.week())
}

pub(crate) fn quarter_of(m: u32) -> u32 {
    (m - 1) / 3 + 1
}

/// `(year, month)` shifted by `delta` months.
pub(crate) fn add_months(y: i32, m: u32, delta: i32) -> (i32, u32) {
    let idx = y * 12 + (m as i32 - 1) + delta;
    (idx.div_euclid(12), idx.rem_euclid(12) as u32 + 1)
}

/// `(year, quarter)` shifted by `delta` quarters.
pub(crate) fn add_quarters(y: i32, q: u32, delta: i32) -> (i32, u32) {
    let idx = y * 4 + (q as i32 - 1) + delta;
    (idx.div_euclid(4), idx.rem_euclid(4) as u32 + 1)
}

/// Occurrence of `wd` relative to `anchor` chosen by `pick`.
pub(crate) fn resolve_weekday(anchor: NaiveDate, wd: Weekday, pick: Pick) -> NaiveDate {
    let a = anchor.weekday().num_days_from_monday() as i64;
    let w = wd.num_days_from_monday() as i64;
    let back = (a - w).rem_euclid(7); // days back to the previous-or-same wd
    let fwd = (w - a).rem_euclid(7);
    let off = match pick {
        Pick::OnOrBefore => -back,
        Pick::OnOrAfter => fwd,
        Pick::Before => -(if back == 0 { 7 } else { back }),
        Pick::After => {
            if fwd == 0 {
                7
            } else {
                fwd
            }
        }
        Pick::Nearest => {
            if back <= fwd {
                -back
            } else {
                fwd
            }
        }
    };
    anchor + Duration::days(off)
}

/// Months a tense-based choice may reach from the anchor; beyond that the tense cue was more
/// likely misread than the article talking about the same month a year away.
const MAX_TENSE_MONTHS: i32 = 9;

/// Days a tense-based choice of a month and day may reach from the anchor (see above).
const MAX_TENSE_DAYS: i64 = 280;

/// Year of a month named without a year.
pub(crate) fn resolve_month_year(anchor: NaiveDate, month: u32, pick: Pick) -> i32 {
    let y = month_year_by(anchor, month, pick);
    let months_away = ((y - anchor.year()) * 12 + month as i32 - anchor.month() as i32).abs();
    if matches!(pick, Pick::OnOrBefore | Pick::OnOrAfter) && months_away > MAX_TENSE_MONTHS {
        month_year_by(anchor, month, Pick::Nearest)
    } else {
        y
    }
}

fn month_year_by(anchor: NaiveDate, month: u32, pick: Pick) -> i32 {
    let (y, am) = (anchor.year(), anchor.month());
    match pick {
        Pick::OnOrBefore => {
            if month <= am {
                y
            } else {
                y - 1
            }
        }
        Pick::Before => {
            if month < am {
                y
            } else {
                y - 1
            }
        }
        Pick::OnOrAfter => {
            if month >= am {
                y
            } else {
                y + 1
            }
        }
        Pick::After => {
            if month > am {
                y
            } else {
                y + 1
            }
        }
        Pick::Nearest => {
            let d = month as i32 - am as i32;
            if d > 6 {
                y - 1
            } else if d < -6 {
                y + 1
            } else {
                y
            }
        }
    }
}

/// Full date of a month and day named without a year.
pub(crate) fn resolve_month_day(anchor: NaiveDate, month: u32, day: u32, pick: Pick) -> Option<NaiveDate> {
    let y = anchor.year();
    let cands: Vec<NaiveDate> = (y - 1..=y + 1)
        .filter_map(|yy| NaiveDate::from_ymd_opt(yy, month, day))
        .collect();
    let nearest = || cands.iter().min_by_key(|d| (**d - anchor).num_days().abs()).copied();
    let chosen = match pick {
        Pick::OnOrBefore => cands.iter().rev().find(|d| **d <= anchor).copied(),
        Pick::Before => cands.iter().rev().find(|d| **d < anchor).copied(),
        Pick::OnOrAfter => cands.iter().find(|d| **d >= anchor).copied(),
        Pick::After => cands.iter().find(|d| **d > anchor).copied(),
        Pick::Nearest => nearest(),
    };
    match chosen {
        Some(d)
            if matches!(pick, Pick::OnOrBefore | Pick::OnOrAfter) && (d - anchor).num_days().abs() > MAX_TENSE_DAYS =>
        {
            nearest()
        }
        other => other,
    }
}

/// Day of a fixed-date or computed holiday in year `y`.
pub(crate) fn holiday(name: &str, y: i32) -> Option<NaiveDate> {
    let n = name.to_ascii_lowercase();
    let md = |m, d| NaiveDate::from_ymd_opt(y, m, d);
    if n.starts_with("christmas eve") {
        md(12, 24)
    } else if n.starts_with("christmas") {
        md(12, 25)
    } else if n.starts_with("new year's eve") || n.starts_with("new year\u{2019}s eve") {
        md(12, 31)
    } else if n.starts_with("new year") {
        md(1, 1)
    } else if n.starts_with("halloween") {
        md(10, 31)
    } else if n.starts_with("valentine") {
        md(2, 14)
    } else if n.starts_with("independence day") || n.contains("fourth") {
        md(7, 4)
    } else if n.starts_with("thanksgiving") {
        // Fourth Thursday of November (United States).
        let first = NaiveDate::from_ymd_opt(y, 11, 1)?;
        let to_thu = (3 - first.weekday().num_days_from_monday() as i64).rem_euclid(7);
        Some(first + Duration::days(to_thu + 21))
    } else if n.starts_with("easter") {
        easter(y)
    } else {
        None
    }
}

/// Gregorian Easter Sunday (anonymous Gregorian algorithm).
fn easter(y: i32) -> Option<NaiveDate> {
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(y, month as u32, day as u32)
}

fn last_day_of_month(y: i32, m: u32) -> Option<NaiveDate> {
    let (ny, nm) = add_months(y, m, 1);
    NaiveDate::from_ymd_opt(ny, nm, 1).map(|d| d - Duration::days(1))
}

fn month_span(y: i32, m1: u32, m2: u32) -> Option<(NaiveDate, NaiveDate)> {
    Some((NaiveDate::from_ymd_opt(y, m1, 1)?, last_day_of_month(y, m2)?))
}

/// The years a normalised value may name: ISO 8601's four digits, and the range the
/// server accepts for `published_at`.
pub(crate) const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// `value` (a date or time, or a range of them) with each year outside [`YEARS`] replaced
/// by TIMEX3's unknown year (`XXXX`, or `XXX` and `XX` for a decade and a century), or
/// `None` when every year is inside. Relative expressions near the calendar's ends resolve
/// outside it ("last year" in year 1, "next month" in December 9999).
pub(crate) fn mask_years_out_of_range(value: &str) -> Option<String> {
    let parts: Vec<&str> = value.split('/').collect();
    if parts.iter().all(|p| years_in_range(p)) {
        return None;
    }
    let masked: Vec<String> = parts
        .iter()
        .map(|p| {
            if years_in_range(p) {
                return p.to_string();
            }
            let year = year_field(p);
            let unknown = match year.len() {
                2 | 3 if !year.starts_with('-') => "X".repeat(year.len()),
                _ => "XXXX".to_string(),
            };
            format!("{unknown}{}", &p[year.len()..])
        })
        .collect();
    Some(masked.join("/"))
}

/// The leading year (decade, century) digits of a value, with a minus sign if it has one.
fn year_field(value: &str) -> &str {
    let sign = usize::from(value.starts_with('-'));
    let end = value[sign..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(value.len(), |i| i + sign);
    &value[..end]
}

fn years_in_range(value: &str) -> bool {
    let year = year_field(value);
    let written = match year.len() {
        _ if year.starts_with('-') => false,
        0..=3 => true,
        4 => num::<i32>(year).is_some_and(|y| YEARS.contains(&y)),
        _ => false,
    };
    written
        && value_interval(value)
            .is_none_or(|(first, last)| YEARS.contains(&first.year()) && YEARS.contains(&last.year()))
}

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// First and last calendar day covered by a TIMEX3 date value, where it resolves to days.
pub(crate) fn value_interval(value: &str) -> Option<(NaiveDate, NaiveDate)> {
    if let Some((a, b)) = value.split_once('/') {
        let (s, _) = value_interval(a)?;
        let (_, e) = value_interval(b)?;
        return (s <= e).then_some((s, e));
    }
    // Strip any time-of-day part: "2018-06-19T06:00", "2018-06-19TAF".
    let date = value.split('T').next().unwrap_or(value);
    let parts: Vec<&str> = date.split('-').collect();
    match parts.as_slice() {
        [y] if y.len() == 4 => {
            let y = num::<i32>(y)?;
            month_span(y, 1, 12)
        }
        [d] if d.len() == 3 => {
            let y = num::<i32>(d)? * 10;
            Some((
                NaiveDate::from_ymd_opt(y, 1, 1)?,
                NaiveDate::from_ymd_opt(y + 9, 12, 31)?,
            ))
        }
        [c] if c.len() == 2 => {
            let y = num::<i32>(c)? * 100;
            Some((
                NaiveDate::from_ymd_opt(y, 1, 1)?,
                NaiveDate::from_ymd_opt(y + 99, 12, 31)?,
            ))
        }
        [y, m] if y.len() == 4 => {
            let y = num::<i32>(y)?;
            if let Some(w) = m.strip_prefix('W') {
                let w = num::<u32>(w)?;
                let mon = NaiveDate::from_isoywd_opt(y, w, Weekday::Mon)?;
                Some((mon, mon + Duration::days(6)))
            } else if let Some(q) = m.strip_prefix('Q') {
                let q = num::<u32>(q)?;
                if !(1..=4).contains(&q) {
                    return None;
                }
                month_span(y, q * 3 - 2, q * 3)
            } else if let Some(h) = m.strip_prefix('H') {
                match num::<u32>(h)? {
                    1 => month_span(y, 1, 6),
                    2 => month_span(y, 7, 12),
                    _ => None,
                }
            } else if m.len() == 2 {
                let m = num::<u32>(m)?;
                month_span(y, m, m)
            } else {
                None
            }
        }
        [y, w, we] if *we == "WE" => {
            let y = num::<i32>(y)?;
            let w = num::<u32>(w.strip_prefix('W')?)?;
            let sat = NaiveDate::from_isoywd_opt(y, w, Weekday::Sat)?;
            Some((sat, sat + Duration::days(1)))
        }
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            let day = NaiveDate::from_ymd_opt(num(y)?, num(m)?, num(d)?)?;
            Some((day, day))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn weekday_picks() {
        let a = d(2018, 6, 19); // Tuesday
        assert_eq!(resolve_weekday(a, Weekday::Fri, Pick::OnOrBefore), d(2018, 6, 15));
        assert_eq!(resolve_weekday(a, Weekday::Fri, Pick::OnOrAfter), d(2018, 6, 22));
        assert_eq!(resolve_weekday(a, Weekday::Tue, Pick::Before), d(2018, 6, 12));
        assert_eq!(resolve_weekday(a, Weekday::Tue, Pick::After), d(2018, 6, 26));
        assert_eq!(resolve_weekday(a, Weekday::Sun, Pick::Nearest), d(2018, 6, 17));
        assert_eq!(resolve_weekday(a, Weekday::Thu, Pick::Nearest), d(2018, 6, 21));
    }

    #[test]
    fn month_and_day_years() {
        let a = d(2018, 6, 19);
        assert_eq!(resolve_month_year(a, 3, Pick::OnOrBefore), 2018);
        assert_eq!(resolve_month_year(a, 1, Pick::OnOrBefore), 2018);
        assert_eq!(resolve_month_year(a, 9, Pick::OnOrBefore), 2017);
        // Eleven months back is too far for a tense guess: the nearest July wins.
        assert_eq!(resolve_month_year(a, 7, Pick::OnOrBefore), 2018);
        assert_eq!(resolve_month_year(a, 3, Pick::OnOrAfter), 2019);
        assert_eq!(resolve_month_year(a, 12, Pick::Nearest), 2018);
        assert_eq!(resolve_month_year(d(2018, 1, 5), 12, Pick::Nearest), 2017);
        assert_eq!(resolve_month_day(a, 12, 31, Pick::Nearest), Some(d(2017, 12, 31)));
        assert_eq!(resolve_month_day(a, 2, 29, Pick::OnOrAfter), None);
    }

    #[test]
    fn intervals() {
        assert_eq!(value_interval("2018-06"), Some((d(2018, 6, 1), d(2018, 6, 30))));
        assert_eq!(value_interval("2018-W24"), Some((d(2018, 6, 11), d(2018, 6, 17))));
        assert_eq!(value_interval("2018-W24-WE"), Some((d(2018, 6, 16), d(2018, 6, 17))));
        assert_eq!(value_interval("2018-Q2"), Some((d(2018, 4, 1), d(2018, 6, 30))));
        assert_eq!(value_interval("198"), Some((d(1980, 1, 1), d(1989, 12, 31))));
        assert_eq!(value_interval("2018-06-19TAF"), Some((d(2018, 6, 19), d(2018, 6, 19))));
        assert_eq!(
            value_interval("2018-06-19/2018-06-20"),
            Some((d(2018, 6, 19), d(2018, 6, 20)))
        );
        assert_eq!(value_interval("PRESENT_REF"), None);
        assert_eq!(value_interval("2018-SU"), None);
        assert_eq!(value_interval("2018-02-30"), None);
    }

    #[test]
    fn holidays() {
        assert_eq!(holiday("Thanksgiving", 2016), Some(d(2016, 11, 24)));
        assert_eq!(holiday("Easter", 2018), Some(d(2018, 4, 1)));
        assert_eq!(holiday("Christmas Eve", 2018), Some(d(2018, 12, 24)));
    }
}
