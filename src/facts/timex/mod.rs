//! Temporal expression recognition and normalisation (TIMEX3-style) for English news.
//!
//! [`recognize`] finds dates, times, durations and sets in a text and resolves relative
//! expressions ("on Tuesday", "last week", "in March") against an anchor, normally the
//! publication time. Weekdays, months and days named without a year are resolved by the tense
//! of their clause: past tense looks back from the anchor, future tense forward, and anything
//! else takes the nearest occurrence. Values follow TimeML's TIMEX3 conventions
//! (`2018-06-19`, `2018-W24`, `2018-06-19TAF`, `PRESENT_REF`, `P3D`, ...), with one extension:
//! a day range is written as an ISO 8601 interval, `2018-06-19/2018-06-20`.

mod calendar;
mod rules;
mod tense;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use regex::Regex;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::LazyLock;

/// TIMEX3 type of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimexType {
    /// A calendar date or period: "June 19", "last week", "2013", "now".
    Date,
    /// A time of day, possibly with its date: "6 a.m. Tuesday", "this morning".
    Time,
    /// A length of time: "two days", "10 weeks".
    Duration,
    /// A recurrence: "daily", "every Monday".
    Set,
}

/// One recognised temporal expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeExpression {
    /// Byte offsets into the text passed to [`recognize`].
    pub range: Range<usize>,
    /// TIMEX3 type.
    pub kind: TimexType,
    /// TIMEX3-style value: `2018-06-19`, `2018-06`, `2018`, `2018-W25`, `2018-06-19TAF`,
    /// `2016-11-09T06:00`, `PRESENT_REF`, `P3D`, or `2018-06-19/2018-06-20` for a day range.
    pub value: String,
    /// First and last calendar day covered, when the value resolves to days
    /// ("June 19 to 20" gives 2018-06-19 and 2018-06-20; "2018-06" the whole month).
    pub interval: Option<(NaiveDate, NaiveDate)>,
}

impl TimeExpression {
    /// The value in ISO 8601 for API output: a date `2018-06-19`, a range
    /// `2018-06-19/2018-06-20`, a month `2018-06`, a year `2018`, a week `2018-W24`, a
    /// datetime `2016-11-09T06:00`, a duration `P3D`. Periods ISO 8601 cannot name (quarters,
    /// weekends, decades) come as their day interval; parts of day ("TAF") as their date.
    /// `None` for reference words ("now"), seasons, sets and vague durations, and for a
    /// date outside years 1 to 9999 (its value has an unknown year, `XXXX`).
    pub fn iso8601(&self) -> Option<String> {
        let v = self.value.as_str();
        match self.kind {
            TimexType::Set => return None,
            TimexType::Duration => {
                if v.contains('X') {
                    return None;
                }
                return Some(match v.strip_suffix('Q') {
                    Some(n) => format!("P{}M", n.trim_start_matches('P').parse::<u32>().ok()? * 3),
                    None => v.to_string(),
                });
            }
            TimexType::Date | TimexType::Time => {
                if v.contains('X') {
                    return None;
                }
            }
        }
        static PLAIN: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2})?)?|-W\d{2})?$").expect("valid regex")
        });
        if PLAIN.is_match(v) || v.contains('/') {
            return Some(v.to_string());
        }
        if let Some((day, pod)) = v.split_once('T') {
            if pod.len() == 2 && day.len() == 10 && self.interval.is_some() {
                return Some(day.to_string());
            }
        }
        self.interval
            .map(|(a, b)| format!("{}/{}", calendar::fmt_day(a), calendar::fmt_day(b)))
    }
}

/// Text allowed between a clock time and the day it belongs to ("6 a.m. Tuesday",
/// "Friday at 6 a.m.", "11am local time on Sunday").
static TIME_DAY_GAP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\s,]*(?:(?:at|on|around|about|by|before|after|shortly\s+(?:before|after))\s+)?$")
        .expect("valid regex")
});

struct Candidate {
    range: Range<usize>,
    kind: TimexType,
    value: String,
    rule: usize,
    years_back_from_previous: Option<i32>,
}

/// Find and normalise the temporal expressions in `text`, resolving relative ones against
/// `anchor` (the publication or document creation time). Results are ordered by position and
/// do not overlap.
pub fn recognize(text: &str, anchor: NaiveDateTime) -> Vec<TimeExpression> {
    // Clamping keeps all calendar arithmetic far from chrono's representable limits.
    let lo = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
    let hi = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    let anchor = anchor.clamp(lo.and_time(NaiveTime::MIN), hi.and_time(NaiveTime::MIN));
    let ctx = rules::Ctx {
        text,
        anchor,
        sentences: crate::text::segment::split_sentences(text),
    };
    let mut cands = Vec::new();
    for (i, rule) in rules::RULES.iter().enumerate() {
        for caps in rule.re.captures_iter(text) {
            let range = ["t", "t2", "t3"]
                .iter()
                .find_map(|g| caps.name(g))
                .or_else(|| caps.get(0))
                .map_or(0..0, |m| m.range());
            if range.is_empty() {
                continue;
            }
            if let Some(f) = (rule.handler)(&caps, &ctx) {
                cands.push(Candidate {
                    range,
                    kind: f.kind,
                    value: f.value,
                    rule: i,
                    years_back_from_previous: f.years_back_from_previous,
                });
            }
        }
    }
    // Longest match first; on equal length the earlier (more specific) rule.
    cands.sort_by_key(|c| (std::cmp::Reverse(c.range.len()), c.rule, c.range.start));
    // Chosen spans never overlap, so among those starting before a candidate's end the one
    // starting last also ends last: it alone decides whether the candidate overlaps.
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    let mut chosen: Vec<Candidate> = Vec::new();
    for c in cands {
        let clash = taken
            .range(..c.range.end)
            .next_back()
            .is_some_and(|(_, &end)| end > c.range.start);
        if !clash {
            taken.insert(c.range.start, c.range.end);
            chosen.push(c);
        }
    }
    chosen.sort_by_key(|c| c.range.start);
    for c in &mut chosen {
        trim_article(text, &mut c.range);
    }
    inherit_granularity(&mut chosen);
    attach_times(&ctx, chosen)
        .into_iter()
        .map(|c| {
            // A date that resolves outside years 1 to 9999 ("last year" in year 1, "next
            // month" in December 9999) keeps its span and type but not its year: the value
            // says the year is unknown and there is no interval, so no normalised date is
            // given. Clamping it into range would state a date the text does not mean
            // ("last year" in year 1 is not year 1), and a five-digit or zero year is not a
            // date the API can write.
            let (value, interval) = match c.kind {
                TimexType::Date | TimexType::Time => match calendar::mask_years_out_of_range(&c.value) {
                    Some(unknown_year) => (unknown_year, None),
                    None => {
                        let interval = calendar::value_interval(&c.value);
                        (c.value, interval)
                    }
                },
                TimexType::Duration | TimexType::Set => (c.value, None),
            };
            TimeExpression {
                range: c.range,
                kind: c.kind,
                value,
                interval,
            }
        })
        .collect()
}

/// TimeML leaves the article out when the expression is a hyphenated modifier
/// ("the [two-day] visit", "the [third-quarter] results") but keeps it on a noun phrase
/// ("the third quarter").
fn trim_article(text: &str, range: &mut Range<usize>) {
    let s = &text[range.clone()];
    let last_word = s.rsplit(char::is_whitespace).next().unwrap_or("");
    if last_word.contains('-') && (s.starts_with("the ") || s.starts_with("The ")) {
        range.start += 4;
    }
}

/// Bytes back to look for the period that "a year earlier" compares with.
const COMPARISON_WINDOW: usize = 300;

/// "Profit rose in the third quarter from a year earlier": the comparison names the same
/// period in the previous year, so it takes the previous expression's quarter, half or month.
fn inherit_granularity(cands: &mut [Candidate]) {
    static SUB_YEAR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\d{4})(-(?:Q[1-4]|H[12]|\d{2}))$").expect("valid regex"));
    for i in 1..cands.len() {
        let Some(back) = cands[i].years_back_from_previous else {
            continue;
        };
        let prev = &cands[i - 1];
        if prev.kind != TimexType::Date || cands[i].range.start - prev.range.end > COMPARISON_WINDOW {
            continue;
        }
        let Some(caps) = SUB_YEAR.captures(&prev.value) else {
            continue;
        };
        let Ok(y) = caps[1].parse::<i32>() else {
            continue;
        };
        let shifted = format!("{:04}{}", y - back, &caps[2]);
        if calendar::value_interval(&shifted).is_some() {
            cands[i].value = shifted;
        }
    }
}

fn is_day_value(v: &str) -> bool {
    v.len() == 10 && calendar::value_interval(v).is_some_and(|(a, b)| a == b)
}

/// Day of a clock time mentioned without one: the anchor day, or the day before (after) it
/// when a past (future) clause names a time later (earlier) than the anchor's own time.
fn clock_day(ctx: &rules::Ctx, range: &Range<usize>, clock: &str) -> NaiveDate {
    let anchor = ctx.anchor;
    let day = anchor.date();
    if anchor.time() == NaiveTime::MIN {
        return day; // a date-only anchor says nothing about the hour
    }
    let Ok(t) = NaiveTime::parse_from_str(clock.trim_start_matches('T'), "%H:%M") else {
        return day;
    };
    let shift = match ctx.tense(range) {
        calendar::Tense::Past if t > anchor.time() => -1,
        calendar::Tense::Future if t < anchor.time() => 1,
        _ => 0,
    };
    day.checked_add_signed(chrono::Duration::days(shift)).unwrap_or(day)
}

/// Join clock times ("T06:00") with an adjacent day, or date them by [`clock_day`].
fn attach_times(ctx: &rules::Ctx, cands: Vec<Candidate>) -> Vec<Candidate> {
    let text = ctx.text;
    let mut out: Vec<Candidate> = Vec::with_capacity(cands.len());
    let mut iter = cands.into_iter().peekable();
    while let Some(mut c) = iter.next() {
        if c.kind == TimexType::Time && c.value.starts_with('T') {
            let prev_day = out
                .last()
                .filter(|p| is_day_value(&p.value) && TIME_DAY_GAP.is_match(&text[p.range.end..c.range.start]));
            if prev_day.is_some() {
                let p = out.pop().expect("checked above");
                c = Candidate {
                    range: p.range.start..c.range.end,
                    value: format!("{}{}", p.value, c.value),
                    ..c
                };
            } else if let Some(n) =
                iter.next_if(|n| is_day_value(&n.value) && TIME_DAY_GAP.is_match(&text[c.range.end..n.range.start]))
            {
                c = Candidate {
                    range: c.range.start..n.range.end,
                    value: format!("{}{}", n.value, c.value),
                    ..c
                };
            } else {
                let day = clock_day(ctx, &c.range, &c.value);
                c.value = format!("{}{}", calendar::fmt_day(day), c.value);
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate};

    /// Tuesday 19 June 2018, midnight.
    fn anchor() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2018, 6, 19)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// (surface text, kind, value) of every expression.
    fn run(text: &str) -> Vec<(String, TimexType, String)> {
        recognize(text, anchor())
            .into_iter()
            .map(|e| (text[e.range].to_string(), e.kind, e.value))
            .collect()
    }

    /// The single expression whose text is `surface`.
    fn one(text: &str, surface: &str) -> TimeExpression {
        let all = recognize(text, anchor());
        all.iter()
            .find(|e| &text[e.range.clone()] == surface)
            .cloned()
            .unwrap_or_else(|| panic!("{surface:?} not found in {:?}", run(text)))
    }

    fn value(text: &str, surface: &str) -> String {
        one(text, surface).value
    }

    #[test]
    fn absolute_dates() {
        assert_eq!(value("It opened on June 19.", "June 19"), "2018-06-19");
        assert_eq!(value("It opened 19 June 2018.", "19 June 2018"), "2018-06-19");
        assert_eq!(value("It opened Jun. 19, 2018.", "Jun. 19, 2018"), "2018-06-19");
        assert_eq!(value("Released 2018-06-19 here.", "2018-06-19"), "2018-06-19");
        assert_eq!(value("Released 6/19/2018 here.", "6/19/2018"), "2018-06-19");
        assert_eq!(value("Signed March 5, 1946.", "March 5, 1946"), "1946-03-05");
        // Without a year, a past clause looks back and a future one forward.
        assert_eq!(value("The vote was held Nov. 10.", "Nov. 10"), "2017-11-10");
        assert_eq!(value("The vote will be held Nov. 10.", "Nov. 10"), "2018-11-10");
    }

    #[test]
    fn ranges() {
        let e = one("Kim visits China from June 19 to 20.", "June 19 to 20");
        assert_eq!(e.value, "2018-06-19/2018-06-20");
        assert_eq!(e.interval, Some((day(2018, 6, 19), day(2018, 6, 20))));
        assert_eq!(e.iso8601().as_deref(), Some("2018-06-19/2018-06-20"));
        assert_eq!(value("Talks ran June 19-20.", "June 19-20"), "2018-06-19/2018-06-20");
        assert_eq!(
            value("The fair runs June 28-July 2.", "June 28-July 2"),
            "2018-06-28/2018-07-02"
        );
        assert_eq!(
            value("Talks will run from Monday to Wednesday.", "Monday to Wednesday"),
            "2018-06-25/2018-06-27"
        );
    }

    #[test]
    fn weekdays_follow_tense() {
        assert_eq!(
            value("On Friday, June 15, Kim sent a letter.", "Friday, June 15"),
            "2018-06-15"
        );
        assert_eq!(value("Kim met Xi on Friday.", "Friday"), "2018-06-15");
        assert_eq!(value("Kim will meet Xi on Friday.", "Friday"), "2018-06-22");
        assert_eq!(value("Kim meets Xi on Thursday.", "Thursday"), "2018-06-21");
        assert_eq!(value("Kim met Xi last Tuesday.", "last Tuesday"), "2018-06-12");
        assert_eq!(value("Kim meets Xi this Sunday.", "this Sunday"), "2018-06-24");
        assert_eq!(value("Kim met Xi Tuesday.", "Tuesday"), "2018-06-19");
        let e = one("Kim arrived Sunday morning.", "Sunday morning");
        assert_eq!((e.kind, e.value.as_str()), (TimexType::Time, "2018-06-17TMO"));
        assert_eq!(e.iso8601().as_deref(), Some("2018-06-17"));
    }

    #[test]
    fn deictic_days() {
        assert_eq!(value("He spoke today.", "today"), "2018-06-19");
        assert_eq!(value("He spoke yesterday.", "yesterday"), "2018-06-18");
        assert_eq!(value("Today, he spoke.", "Today"), "2018-06-19");
        assert!(run("He told USA Today and the Today programme.").is_empty());
        assert_eq!(value("He speaks tomorrow.", "tomorrow"), "2018-06-20");
        assert_eq!(value("He speaks tonight.", "tonight"), "2018-06-19TNI");
        assert_eq!(value("He spoke this morning.", "this morning"), "2018-06-19TMO");
        assert_eq!(value("He spoke this afternoon.", "this afternoon"), "2018-06-19TAF");
        assert_eq!(value("He spoke last night.", "last night"), "2018-06-18TNI");
        assert_eq!(one("He spoke last night.", "last night").kind, TimexType::Time);
    }

    #[test]
    fn relative_units() {
        let e = one("During the summit last week, Kim signed.", "last week");
        assert_eq!(e.value, "2018-W24");
        assert_eq!(e.interval, Some((day(2018, 6, 11), day(2018, 6, 17))));
        assert_eq!(value("Sales rise next month.", "next month"), "2018-07");
        assert_eq!(value("Sales rose this year.", "this year"), "2018");
        assert_eq!(value("Sales rose last year.", "last year"), "2017");
        assert_eq!(value("Sales rose earlier this year.", "earlier this year"), "2018");
        assert_eq!(
            value("Profit fell in the first quarter.", "the first quarter"),
            "2018-Q1"
        );
        assert_eq!(
            value("Profit fell in the fourth quarter.", "the fourth quarter"),
            "2017-Q4"
        );
        assert_eq!(value("It happened two years ago.", "two years ago"), "2016");
        assert_eq!(value("It happened three days ago.", "three days ago"), "2018-06-16");
        assert_eq!(value("He left last fall.", "last fall"), "2017-FA");
        let text = "Profit rose in the first quarter from a year earlier.";
        assert_eq!(value(text, "a year earlier"), "2017-Q1");
        assert_eq!(value("Profit is up from a year ago.", "a year ago"), "2017");
    }

    #[test]
    fn months_and_years() {
        let text = "He earlier traveled to Beijing in March and Dalian in May.";
        assert_eq!(value(text, "March"), "2018-03");
        assert_eq!(one(text, "March").iso8601().as_deref(), Some("2018-03"));
        let e = one("Ties worsened in 2013.", "2013");
        assert_eq!(e.iso8601().as_deref(), Some("2013"));
        assert_eq!(e.interval, Some((day(2013, 1, 1), day(2013, 12, 31))));
        assert_eq!(value(text, "May"), "2018-05");
        assert_eq!(value("He will travel in March.", "March"), "2019-03");
        assert_eq!(value("Ties worsened in 2013.", "2013"), "2013");
        assert_eq!(value("Ties worsened in October 1998.", "October 1998"), "1998-10");
        assert_eq!(value("Prices rose in the 1990s.", "the 1990s"), "199");
        assert_eq!(value("Sales fell in fiscal 1989.", "fiscal 1989"), "1989");
        assert_eq!(value("It began in nineteen ninety-six.", "nineteen ninety-six"), "1996");
        assert_eq!(
            value("By the year two thousand, it grew.", "the year two thousand"),
            "2000"
        );
        // Capitalised "May" as a modal verb is not a month.
        assert!(run("May I ask a question?").is_empty());
    }

    #[test]
    fn times_attach_to_days() {
        let e = one("Polls open at 6 a.m. Tuesday.", "6 a.m. Tuesday");
        assert_eq!((e.kind, e.value.as_str()), (TimexType::Time, "2018-06-19T06:00"));
        assert_eq!(e.iso8601().as_deref(), Some("2018-06-19T06:00"));
        assert_eq!(
            value("They met on Sunday at noon.", "Sunday at noon"),
            "2018-06-17T12:00"
        );
        assert_eq!(
            value("It starts at 11am local time on Sunday.", "11am local time on Sunday"),
            "2018-06-17T11:00"
        );
        assert_eq!(value("The shop shut at 7 pm.", "7 pm"), "2018-06-19T19:00");
        // Published at 04:35: a past 7 pm was the evening before.
        let early = anchor().date().and_hms_opt(4, 35, 0).unwrap();
        let e = &recognize("The shop closed at 7 pm.", early)[0];
        assert_eq!(e.value, "2018-06-18T19:00");
    }

    #[test]
    fn durations_and_sets() {
        let e = one("The visit lasts two days.", "two days");
        assert_eq!(
            (e.kind, e.value.as_str(), e.interval),
            (TimexType::Duration, "P2D", None)
        );
        assert_eq!(e.iso8601().as_deref(), Some("P2D"));
        assert_eq!(value("He waited 10 weeks.", "10 weeks"), "P10W");
        assert_eq!(value("Kim began a two-day visit.", "two-day"), "P2D");
        assert_eq!(value("Kim ended the two-day visit.", "two-day"), "P2D");
        assert_eq!(value("It took 2 1/2 years.", "2 1/2 years"), "P2Y6M");
        assert_eq!(value("It took a year and a half.", "a year and a half"), "P1Y6M");
        assert_eq!(value("It took half an hour.", "half an hour"), "PT30M");
        assert_eq!(value("It took 1.5 days.", "1.5 days"), "P1DT12H");
        assert_eq!(value("It rose for several years.", "several years"), "PXY");
        assert_eq!(one("It rose for several years.", "several years").iso8601(), None);
        assert_eq!(
            value("He rested for the past two months.", "the past two months"),
            "P2M"
        );
        let e = one("The paper is published daily.", "daily");
        assert_eq!((e.kind, e.value.as_str()), (TimexType::Set, "P1D"));
        assert_eq!(value("They meet every Monday.", "every Monday"), "XXXX-WXX-1");
    }

    #[test]
    fn reference_words() {
        assert_eq!(value("He is now in Beijing.", "now"), "PRESENT_REF");
        assert_eq!(value("He recently left.", "recently"), "PAST_REF");
        assert_eq!(value("In the future, he may return.", "the future"), "FUTURE_REF");
        assert_eq!(one("He is now in Beijing.", "now").iso8601(), None);
    }

    #[test]
    fn no_false_positives() {
        for text in [
            "the 39-year-old leader",
            "on his 65th birthday",
            "it cost $2018 in fees",
            "about 2000 people marched",
            "a 65 years old man",
            "rates rose 2.5%",
            "He won 3-2.",
            "May I come in?",
            "June Carter sang.",
        ] {
            assert!(run(text).is_empty(), "{text:?} gave {:?}", run(text));
        }
    }

    #[test]
    fn empty_and_offsets() {
        assert!(recognize("", anchor()).is_empty());
        let text = "Élysée talks were held — «on Friday» 😀 and the visit on 19 June.";
        for e in recognize(text, anchor()) {
            assert!(text.is_char_boundary(e.range.start) && text.is_char_boundary(e.range.end));
        }
        assert_eq!(value(text, "Friday"), "2018-06-15");
        assert_eq!(value(text, "19 June"), "2018-06-19");
    }

    #[test]
    fn no_panic_on_arbitrary_unicode() {
        const PIECES: &[&str] = &[
            "June",
            "19",
            " ",
            "-",
            "to",
            "Friday",
            "a.m.",
            "’",
            "é",
            "😀",
            "\u{0}",
            "\n",
            ".",
            "May",
            "2018",
            "$",
            "last",
            "week",
            "ago",
            "years",
            "/",
            ":",
            "noon",
            "the",
            "ß",
            "\u{200b}",
            "한",
            "1/2",
            "Christmas",
            "Feb",
            "29",
            "9999",
            "0",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..400 {
            let len = (next() % 60) as usize;
            let mut s = String::new();
            for _ in 0..len {
                let r = next();
                if r % 5 == 0 {
                    s.push(char::from_u32((r >> 8) as u32 % 0x11_0000).unwrap_or('x'));
                } else {
                    s.push_str(PIECES[(r >> 8) as usize % PIECES.len()]);
                }
            }
            for a in [anchor(), NaiveDateTime::MIN, NaiveDateTime::MAX] {
                for e in recognize(&s, a) {
                    assert!(s.is_char_boundary(e.range.start) && s.is_char_boundary(e.range.end));
                    let _ = e.iso8601();
                }
            }
        }
    }

    #[test]
    fn large_input_stays_linear() {
        let sentence = "Kim met Xi on Friday, June 15, and will return next week for two days. ";
        let text = sentence.repeat(5_000);
        let started = std::time::Instant::now();
        let found = recognize(&text, anchor());
        assert_eq!(found.len(), 3 * 5_000);
        assert!(found.windows(2).all(|w| w[0].range.end <= w[1].range.start));
        // Generous even for unoptimised builds on a busy machine; quadratic work would not fit.
        assert!(started.elapsed().as_secs() < 60, "took {:?}", started.elapsed());
    }

    /// The sample article from the specification, where the shared data folder exists.
    #[test]
    fn values_stay_within_years_1_to_9999() {
        let at = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(12, 0, 0).unwrap();
        let cases = [
            (
                at(1, 1, 3),
                "Profits fell last year. The board met on June 12 last year. It met last week.",
            ),
            (
                at(1, 1, 3),
                "It happened in the 1st century, on New Year's Eve, from December 30 to January 2.",
            ),
            (
                at(9999, 12, 30),
                "Sales will rise next month. The vote is next Tuesday. Talks end next year.",
            ),
            (
                at(9999, 12, 30),
                "The show runs from Friday to next Monday, in the next decade.",
            ),
        ];
        for (anchor, text) in cases {
            let found = recognize(text, anchor);
            assert!(!found.is_empty(), "{text}");
            for e in &found {
                let surface = &text[e.range.clone()];
                if let Some((first, last)) = e.interval {
                    assert!(
                        calendar::YEARS.contains(&first.year()) && calendar::YEARS.contains(&last.year()),
                        "{surface:?}: {e:?}"
                    );
                }
                let Some(iso) = e
                    .iso8601()
                    .filter(|_| matches!(e.kind, TimexType::Date | TimexType::Time))
                else {
                    continue;
                };
                for part in iso.split('/') {
                    let year: i32 = part[..4].parse().unwrap_or_else(|_| panic!("{surface:?}: {iso}"));
                    assert!((1..=9999).contains(&year), "{surface:?}: {iso}");
                    assert!(
                        part.len() == 4 || !part.as_bytes()[4].is_ascii_digit(),
                        "{surface:?}: {iso}"
                    );
                }
            }
        }
        let before = |text: &str, surface: &str| {
            let found = recognize(text, at(1, 1, 3));
            found
                .iter()
                .find(|e| &text[e.range.clone()] == surface)
                .cloned()
                .unwrap_or_else(|| panic!("{surface:?} not in {found:?}"))
        };
        let last_year = before("Profits fell last year.", "last year");
        assert_eq!(
            (last_year.value.as_str(), last_year.iso8601()),
            ("XXXX", None),
            "year 0 is unknown, not clamped"
        );
        let june = before("The board met on June 12 last year.", "June 12");
        assert_eq!((june.value.as_str(), june.iso8601()), ("XXXX-06-12", None));
        assert_eq!(
            before("Profits rose this year.", "this year").iso8601().as_deref(),
            Some("0001")
        );
        let after = recognize("Sales will rise next month.", at(9999, 12, 30));
        assert_eq!((after[0].value.as_str(), after[0].iso8601()), ("XXXX-01", None));
        assert_eq!(
            calendar::mask_years_out_of_range("9999-12-30/10000-01-02").as_deref(),
            Some("9999-12-30/XXXX-01-02")
        );
        assert_eq!(calendar::mask_years_out_of_range("-001-06").as_deref(), Some("XXXX-06"));
        assert_eq!(
            calendar::mask_years_out_of_range("000").as_deref(),
            Some("XXX"),
            "the decade of year 0"
        );
        assert_eq!(calendar::mask_years_out_of_range("2018-06-19TAF"), None);
        assert_eq!(calendar::mask_years_out_of_range("PRESENT_REF"), None);
    }

    #[test]
    fn sample_article() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/samples/kim-beijing-2018.txt");
        let Ok(text) = std::fs::read_to_string(&path) else {
            println!("skipping: {} not found", path.display());
            return;
        };
        let got: Vec<(String, Option<String>)> = recognize(&text, anchor())
            .into_iter()
            .map(|e| (text[e.range.clone()].to_string(), e.iso8601()))
            .collect();
        for (surface, iso) in [
            ("June 19 to 20", "2018-06-19/2018-06-20"),
            ("Friday, June 15", "2018-06-15"),
            ("last week", "2018-W24"),
            ("March", "2018-03"),
            ("2013", "2013"),
        ] {
            assert!(
                got.iter().any(|(s, i)| s == surface && i.as_deref() == Some(iso)),
                "{surface} -> {iso} missing from {got:?}"
            );
        }
        assert!(!got.iter().any(|(s, _)| s.contains("65")), "{got:?}");
    }
}
