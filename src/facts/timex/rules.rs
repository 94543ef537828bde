//! Recognition patterns and their normalisation to TIMEX3 values.
//!
//! Each rule is a regular expression plus a handler that turns one match into a type and value
//! (or rejects it after looking at the context). The optional named group `t` narrows the
//! reported span when the pattern needs context that is not part of the expression ("for").

use super::calendar::{
    add_months, add_quarters, fmt_day, fmt_month, fmt_week, holiday, quarter_of, resolve_month_day, resolve_month_year,
    resolve_weekday, Pick, Tense,
};
use super::tense::tense_at;
use super::TimexType;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Weekday};
use regex::{Captures, Regex};
use std::ops::Range;
use std::sync::LazyLock;

/// What a handler learned from a match.
pub(crate) struct Found {
    pub kind: TimexType,
    pub value: String,
    /// For "a year earlier"-style expressions: the shift in years, so that the expression can
    /// take the granularity of the period just mentioned ("the third quarter ... a year
    /// earlier" is the third quarter of the previous year).
    pub years_back_from_previous: Option<i32>,
}

/// Document-level context shared by the handlers.
pub(crate) struct Ctx<'a> {
    pub text: &'a str,
    pub anchor: NaiveDateTime,
    /// `text`'s sentences ([`crate::text::segment::split_sentences`]), for tense cues.
    pub sentences: Vec<Range<usize>>,
}

impl Ctx<'_> {
    fn day(&self) -> NaiveDate {
        self.anchor.date()
    }

    /// Tense of the clause around `range`, looking for cues in its sentence.
    pub fn tense(&self, range: &Range<usize>) -> Tense {
        // Sentences are ordered and cover every non-space character; an expression that runs
        // past its sentence's end takes the rest of it along.
        let at = self.sentences.partition_point(|s| s.end <= range.start);
        let sentence = match self.sentences.get(at) {
            Some(s) if s.start <= range.start => s.start..s.end.max(range.end),
            _ => range.clone(),
        };
        tense_at(self.text, &sentence, range)
    }

    /// The lowercased word just before byte `pos`, if any.
    fn word_before(&self, pos: usize) -> String {
        let head = self.text[..pos].trim_end();
        let start = head
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '\''))
            .map_or(0, |(i, c)| i + c.len_utf8());
        head[start..].to_lowercase()
    }

    /// The text right after byte `pos` (at most 40 bytes, cut at a char boundary).
    fn after(&self, pos: usize) -> &str {
        &self.text[pos..self.text.floor_char_boundary(pos + 40)]
    }

    fn char_before(&self, pos: usize) -> Option<char> {
        self.text[..pos].chars().next_back()
    }
}

type Handler = fn(&Captures, &Ctx) -> Option<Found>;

pub(crate) struct Rule {
    pub re: Regex,
    pub handler: Handler,
}

const MONTH: &str = r"(?:(?:January|February|March|April|May|June|July|August|September|October|November|December)\b|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)(?:\.|\b))";
const DAY: &str = r"(?:[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th)?\b";
const YEAR: &str = r"(?:1[0-9]{3}|20[0-9]{2})\b";
const WD: &str = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b";
const RANGE_SEP: &str = r"\s*(?:-|–|—|\bto\b|\bthrough\b|\buntil\b|\btill\b|\band\b)\s*";
const NUMW: &str = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|dozen)";
const UNIT: &str = r"(?:seconds?|minutes?|hours?|days?|weeks?|weekends?|fortnights?|months?|quarters?|years?|decades?|century|centuries)";

fn num_re() -> String {
    format!(
        r"(?:\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?(?:\s+1/2|½)?|a\s+(?:hundred|dozen)|{NUMW}(?:[-\s]{NUMW})*(?:\s+and\s+a\s+half)?|a\s+couple\s+of|couple\s+of|half\s+an?|a\s+few|few|several|many|some|a|an)"
    )
}

fn rule(pattern: &str, handler: Handler) -> Rule {
    // Unicode word boundaries keep the regex engine off its fast DFA paths on non-ASCII text
    // (about 40x slower on large inputs); every boundary here sits next to an ASCII word, so
    // the ASCII form finds the same ones.
    let pattern = pattern.replace(r"\b", r"(?-u:\b)");
    Rule {
        re: Regex::new(&pattern).expect("valid timex pattern"),
        handler,
    }
}

/// All rules; on equal spans the earlier rule wins.
pub(crate) static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let num = num_re();
    vec![
        rule(
            &format!(
                r"(?:(?P<wd>{WD}),?\s+)?(?P<m1>{MONTH})\s+(?P<d1>{DAY})\s*(?:-|–|—|\bto\b|\bthrough\b|\buntil\b|\btill\b)\s*(?:{WD},?\s+)?(?P<m2>{MONTH})\s+(?P<d2>{DAY})(?:,?\s+(?P<y>{YEAR}))?"
            ),
            month_day,
        ),
        rule(
            &format!(
                r"(?:(?P<wd>{WD}),?\s+)?(?P<m1>{MONTH})\s+(?P<d1>{DAY})(?:{RANGE_SEP}(?P<d2>{DAY}))?(?:,?\s+(?P<y>{YEAR}))?"
            ),
            month_day,
        ),
        rule(
            &format!(
                r"\b(?:(?P<wd>{WD}),?\s+)?(?:the\s+)?(?P<d1>{DAY})(?:{RANGE_SEP}(?P<d2>{DAY}))?\s+(?:of\s+)?(?P<m1>{MONTH})(?:,?\s+(?P<y>{YEAR}))?"
            ),
            month_day,
        ),
        rule(
            r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::\d{2})?)?\b",
            iso_date,
        ),
        rule(r"\b(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4}|\d{2})\b", numeric_date),
        rule(
            &format!(
                r"(?:(?P<pre>(?i:(?:the\s+)?(?:beginning|start|end|middle|close)\s+of|early|mid|late))[-\s]*)?(?P<m>{MONTH}),?\s+(?:of\s+)?(?P<y>{YEAR})"
            ),
            month_year,
        ),
        rule(
            &format!(r"(?P<m>{MONTH})\s+(?:of\s+)?(?P<rel>(?i:this|last|next))\s+year\b"),
            month_of_relative_year,
        ),
        rule(
            &format!(
                r"(?:(?P<rel>[Ll]ast|[Nn]ext|[Tt]his|[Ee]arly|[Ll]ate|[Mm]id|(?i:(?:the\s+)?(?:beginning|start|end|middle)\s+of))[-\s]*)?(?P<m>{MONTH})"
            ),
            month_only,
        ),
        rule(
            &format!(r"\b(?P<w1>{WD})\s*(?:-|–|—|\bto\b|\bthrough\b|\buntil\b|\btill\b)\s*(?P<w2>{WD})"),
            weekday_range,
        ),
        rule(
            &format!(
                r"\b(?:(?P<rel>(?i:last|next|this|earlier|later|early|late|coming|past))\s+)?(?P<wd>{WD})(?:\s+(?P<pod>(?i:morning|afternoon|evening|night)\b))?"
            ),
            weekday,
        ),
        rule(
            r"(?i)\b(?:(?P<mod>early|late|earlier|later)\s+)?(?P<w>today|tonight|yesterday|tomorrow)(?:\s+(?P<pod>morning|afternoon|evening|night)\b)?\b",
            relative_day,
        ),
        rule(
            r"(?i)\bthe\s+day\s+(?P<dir>before\s+yesterday|after\s+tomorrow)\b",
            day_before_after,
        ),
        rule(
            r"(?i)\b(?P<w>this|last)\s+(?P<pod>morning|afternoon|evening|night)\b",
            this_part_of_day,
        ),
        rule(
            r"(?i)\b(?:(?P<mod>earlier|later|early|late)\s+)?(?:(?:the\s+)?(?:beginning|start|end|middle|rest|remainder)\s+of\s+)?(?P<rel>this|last|next|past|coming|current|previous|the\s+(?:current|coming|previous|past|last|next|following))\s+(?P<u>week(?:end)?|month|year|quarter|decade|century|spring|summer|fall|autumn|winter)\b",
            relative_unit,
        ),
        rule(
            r"(?i)\b(?:(?:the|this|last|next)\s+)?(?:(?P<own>this|last|next)\s+year's\s+|(?P<yy>\d{4})(?:'s)?\s+)?(?:(?:fiscal|calendar)\s+)?(?P<q>first|second|third|fourth|1st|2nd|3rd|4th)[-\s]+(?:fiscal[-\s]+)?(?P<u>quarter|half)(?:\s+of\s+(?:fiscal\s+)?(?:the\s+year\s+)?(?P<y>\d{4}))?\b",
            quarter,
        ),
        rule(
            r"(?i)\b(?:the\s+)?(?:(?P<rel>current|latest|last|past|previous|most\s+recent|next|coming)\s+)?quarter\b",
            bare_quarter,
        ),
        rule(
            r"(?i)\b(?:the\s+)?(?:(?P<mod>early|mid|late)[-\s])?(?:(?P<c>1[0-9]|20)(?P<d>[0-9])0'?s|['’](?P<d2>[0-9])0s)\b",
            decade,
        ),
        rule(r"(?i)\b(?:the\s+)?(?P<n>\d{1,2})(?:st|nd|rd|th)\s+century\b", century),
        rule(
            r"(?P<pre>(?i:fiscal(?:\s+year)?|(?:in\s+)?the\s+year|calendar(?:\s+year)?|(?:the\s+)?(?:beginning|start|end|middle|close|first\s+half|second\s+half|summer|spring|fall|autumn|winter)\s+of|early|mid|late|(?:spring|summer|fall|autumn|winter))[-\s]*)?(?P<y>\b(?:1[0-9]|20)[0-9]{2})\b",
            year,
        ),
        rule(
            &format!(
                r"(?i)\b(?:the\s+year\s+)?(?:(?P<c>nineteen|eighteen|twenty)\s+(?:hundred\s+(?:and\s+)?)?(?P<yy>(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[-\s]{NUMW})?|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|oh[-\s]{NUMW})|two\s+thousand(?:\s+(?:and\s+)?(?P<after>{NUMW}))?)\b"
            ),
            spoken_year,
        ),
        rule(
            r"(?i)\b(?:the\s+)?year[-\s](?:earlier|ago)(?:\s+(?P<p>period|quarter))?\b",
            year_earlier,
        ),
        rule(
            r"(?:Christmas(?:\s+(?:Day|Eve))?|New\s+Year['’]s(?:\s+(?:Day|Eve))?|Thanksgiving(?:\s+Day)?|Easter(?:\s+Sunday)?|Halloween|Valentine['’]s\s+Day|Independence\s+Day|(?:the\s+)?Fourth\s+of\s+July|July\s+Fourth)\b",
            holiday_rule,
        ),
        rule(
            &format!(
                r"(?i)\b(?:(?:about|around|nearly|almost|roughly|some|more\s+than|less\s+than|over|just|only|at\s+least)\s+)?(?:(?P<num>{num})[\s-]+)?(?P<u>{UNIT})\s+(?P<dir>ago|earlier|later|from\s+now|hence)\b"
            ),
            ago,
        ),
        rule(
            &format!(
                r"(?i)\b(?:(?P<mod>about|around|approximately|nearly|almost|roughly|more\s+than|less\s+than|fewer\s+than|at\s+least|up\s+to|over|under|within|only|just|the(?:\s+(?:past|last|next|first|previous|coming|following|final|latest|same))?)\s+)?(?P<num>{num})(?P<sep>[\s-]+)(?P<u>{UNIT})(?P<half>\s+and\s+a\s+half)?\b"
            ),
            duration,
        ),
        rule(
            r"(?i)(?:\bfor|\bover|\bin)\s+(?P<t>(?P<u>days|weeks|months|years|decades))\b|\b(?P<t2>(?:recent|coming|past)\s+(?P<u2>days|weeks|months|quarters|years|decades))\b|\b(?P<t3>(?:the\s+)?(?:past|last|next|coming)\s+(?:few|several)\s+(?P<u3>days|weeks|months|years|decades))\b",
            vague_duration,
        ),
        rule(
            &format!(
                r"(?i)\b(?:daily|weekly|monthly|annually|yearly|hourly|nightly|(?:every|each)\s+(?:other\s+)?(?:day|week|month|quarter|year|morning|afternoon|evening|night|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|(?:once|twice|(?:{num})\s+times)\s+(?:a|per|each)\s+(?:day|week|month|year))\b"
            ),
            set,
        ),
        rule(
            r"(?i)\b(?:now|currently|at\s+present|these\s+days|nowadays|at\s+the\s+moment|recently|lately|the\s+(?:near\s+|distant\s+)?future|the\s+near\s+term|the\s+past)\b",
            reference,
        ),
        rule(
            r"(?i)\bthe\s+(?:(?:current|calendar|full|latest|fiscal)\s+)*(?P<u>year|weekend)\b",
            the_unit,
        ),
        rule(
            r"(?i)\b(?:(?P<h>\d{1,2})(?::(?P<mi>[0-5]\d))?\s*(?P<ap>a\.m\.|p\.m\.|a\.m\b|p\.m\b|am\b|pm\b)|(?P<h2>[01]?\d|2[0-3]):(?P<mi2>[0-5]\d)\b|(?P<noon>noon|midday|midnight)\b)(?:\s+(?P<tz>GMT|UTC|[ECMP][SD]T|BST|CET|local\s+time)\b)?",
            time_of_day,
        ),
    ]
});

fn found(kind: TimexType, value: String) -> Option<Found> {
    Some(Found {
        kind,
        value,
        years_back_from_previous: None,
    })
}

fn year_shift(value: String, years: i32) -> Option<Found> {
    Some(Found {
        kind: TimexType::Date,
        value,
        years_back_from_previous: Some(years),
    })
}

fn date(value: String) -> Option<Found> {
    found(TimexType::Date, value)
}

fn span(c: &Captures) -> Range<usize> {
    c.get(0).map_or(0..0, |m| m.range())
}

fn month_num(s: &str) -> Option<u32> {
    let p = s.get(..3)?.to_ascii_lowercase();
    let i = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|m| *m == p)?;
    Some(i as u32 + 1)
}

fn day_num(s: &str) -> Option<u32> {
    s.trim_end_matches(|c: char| c.is_ascii_alphabetic()).parse().ok()
}

fn weekday_of(s: &str) -> Option<Weekday> {
    s.get(..3)?.to_ascii_lowercase().parse().ok()
}

fn pod_code(s: &str) -> &'static str {
    match s.to_ascii_lowercase().as_str() {
        "morning" => "MO",
        "afternoon" => "AF",
        "evening" => "EV",
        _ => "NI",
    }
}

/// A year-like number that is really money, a count or part of a larger number.
fn year_is_not_temporal(ctx: &Ctx, r: &Range<usize>) -> bool {
    if matches!(
        ctx.char_before(r.start),
        Some('$' | '£' | '€' | '¥' | '#' | '.' | ',' | '/')
    ) || ctx.char_before(r.start).is_some_and(|c| c.is_alphanumeric())
    {
        return true;
    }
    let after = ctx.after(r.end);
    let mut chars = after.chars();
    match (chars.next(), chars.next()) {
        (Some('%' | '/'), _) => return true,
        (Some(c), _) if c.is_alphanumeric() => return true,
        (Some(',' | '.'), Some(d)) if d.is_ascii_digit() => return true,
        _ => {}
    }
    let next_word: String = after
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphabetic())
        .collect::<String>()
        .to_lowercase();
    const COUNTED: &[&str] = &[
        "people",
        "persons",
        "votes",
        "troops",
        "soldiers",
        "points",
        "feet",
        "foot",
        "meters",
        "metres",
        "miles",
        "kilometers",
        "kilometres",
        "km",
        "tons",
        "tonnes",
        "shares",
        "barrels",
        "units",
        "yen",
        "dollars",
        "euros",
        "pounds",
        "cars",
        "workers",
        "jobs",
        "students",
        "deaths",
        "cases",
        "residents",
        "members",
        "employees",
        "homes",
        "acres",
        "rounds",
    ];
    const APPROX: &[&str] = &[
        "about",
        "around",
        "some",
        "nearly",
        "almost",
        "approximately",
        "over",
        "than",
        "only",
        "roughly",
        "estimated",
        "least",
        "number",
        "no",
        "flight",
        "route",
        "room",
        "page",
    ];
    COUNTED.contains(&next_word.as_str()) || APPROX.contains(&ctx.word_before(r.start).as_str())
}

fn parse_year(s: &str) -> Option<i32> {
    let y: i32 = s.parse().ok()?;
    Some(if s.len() == 2 {
        if y < 50 {
            2000 + y
        } else {
            1900 + y
        }
    } else {
        y
    })
}

fn month_day(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let r = span(c);
    let m1 = month_num(c.name("m1")?.as_str())?;
    let d1 = day_num(c.name("d1")?.as_str())?;
    let m2 = c.name("m2").and_then(|m| month_num(m.as_str())).unwrap_or(m1);
    let d2 = c.name("d2").and_then(|d| day_num(d.as_str()));
    // "March 5 percent" in a headline-style run of words is a number, not a date.
    if c.name("y").is_none() && d2.is_none() && c.name("wd").is_none() {
        let after = ctx.after(r.end).trim_start();
        if after.starts_with('%') || after.starts_with("per") {
            return None;
        }
    }
    let start = match c.name("y") {
        Some(y) => NaiveDate::from_ymd_opt(parse_year(y.as_str())?, m1, d1)?,
        None => {
            let pick = match c.name("wd").and_then(|w| weekday_of(w.as_str())) {
                // "Friday, June 15": the weekday tells which year fits.
                Some(wd) => {
                    let y = ctx.day().year();
                    return (y - 1..=y + 1)
                        .filter_map(|yy| NaiveDate::from_ymd_opt(yy, m1, d1))
                        .filter(|d| d.weekday() == wd)
                        .min_by_key(|d| (*d - ctx.day()).num_days().abs())
                        .or_else(|| resolve_month_day(ctx.day(), m1, d1, Pick::Nearest))
                        .and_then(|s| finish_range(s, m2, d2));
                }
                None => Pick::from_tense(ctx.tense(&r)),
            };
            resolve_month_day(ctx.day(), m1, d1, pick)?
        }
    };
    finish_range(start, m2, d2)
}

/// Value for a single day or a day range that starts at `start`.
fn finish_range(start: NaiveDate, m2: u32, d2: Option<u32>) -> Option<Found> {
    let Some(d2) = d2 else {
        return date(fmt_day(start));
    };
    let y2 = if m2 < start.month() {
        start.year() + 1
    } else {
        start.year()
    };
    let end = NaiveDate::from_ymd_opt(y2, m2, d2)?;
    // "June 19 and 20" is a range only when the second day follows the first.
    if end <= start || (end - start).num_days() > 62 {
        return date(fmt_day(start));
    }
    date(format!("{}/{}", fmt_day(start), fmt_day(end)))
}

fn iso_date(c: &Captures, _ctx: &Ctx) -> Option<Found> {
    let d = NaiveDate::from_ymd_opt(c["y"].parse().ok()?, c["m"].parse().ok()?, c["d"].parse().ok()?)?;
    match (c.name("h"), c.name("mi")) {
        (Some(h), Some(mi)) => {
            let (h, mi): (u32, u32) = (h.as_str().parse().ok()?, mi.as_str().parse().ok()?);
            (h < 24 && mi < 60).then_some(())?;
            found(TimexType::Time, format!("{}T{h:02}:{mi:02}", fmt_day(d)))
        }
        _ => date(fmt_day(d)),
    }
}

fn numeric_date(c: &Captures, _ctx: &Ctx) -> Option<Found> {
    let a: u32 = c["a"].parse().ok()?;
    let b: u32 = c["b"].parse().ok()?;
    let y = parse_year(&c["y"])?;
    // Month first (US news style) unless the first number cannot be a month.
    let (m, d) = if a > 12 { (b, a) } else { (a, b) };
    date(fmt_day(NaiveDate::from_ymd_opt(y, m, d)?))
}

fn month_year(c: &Captures, _ctx: &Ctx) -> Option<Found> {
    let m = month_num(&c["m"])?;
    let y = parse_year(&c["y"])?;
    date(fmt_month(y, m))
}

const MONTH_PREPS: &[&str] = &[
    "in", "since", "until", "till", "by", "from", "through", "during", "of", "before", "after", "to", "and", "or",
    "early", "late", "mid", "between", "last", "next", "this", "for",
];

fn month_only(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let r = span(c);
    let mtext = &c["m"];
    let m = month_num(mtext)?;
    let rel = c.name("rel").map(|x| x.as_str().to_ascii_lowercase());
    if ctx
        .after(r.end)
        .trim_start()
        .starts_with(|ch: char| ch.is_ascii_digit())
    {
        return None; // "last Oct. 23": the month-day rule owns it
    }
    if rel.is_none() {
        let before = ctx.word_before(r.start);
        let next = ctx.after(r.end);
        let following = next.trim_start();
        // "June Carter", "August Busch": a capitalised word right after suggests a name.
        let next_is_name = next.starts_with(' ')
            && following.chars().next().is_some_and(char::is_uppercase)
            && month_num(following).is_none();
        let needs_prep = matches!(m, 3 | 5) || mtext.len() <= 4 || next_is_name;
        if needs_prep && !MONTH_PREPS.contains(&before.as_str()) {
            return None;
        }
    }
    let pick = match rel.as_deref() {
        Some("last") => Pick::Before,
        Some("next") => Pick::After,
        Some("this") => return date(fmt_month(ctx.day().year(), m)),
        _ => Pick::from_tense(ctx.tense(&r)),
    };
    date(fmt_month(resolve_month_year(ctx.day(), m, pick), m))
}

fn month_of_relative_year(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let m = month_num(&c["m"])?;
    let y = ctx.day().year()
        + match c["rel"].to_ascii_lowercase().as_str() {
            "last" => -1,
            "next" => 1,
            _ => 0,
        };
    date(fmt_month(y, m))
}

fn weekday_range(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let r = span(c);
    let w1 = weekday_of(&c["w1"])?;
    let w2 = weekday_of(&c["w2"])?;
    let start = resolve_weekday(ctx.day(), w1, Pick::from_tense(ctx.tense(&r)));
    let len = (w2.num_days_from_monday() as i64 - w1.num_days_from_monday() as i64).rem_euclid(7);
    if len == 0 {
        return None;
    }
    let end = start + Duration::days(len);
    date(format!("{}/{}", fmt_day(start), fmt_day(end)))
}

fn weekday(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let r = span(c);
    let wd = weekday_of(&c["wd"])?;
    let rel = c.name("rel").map(|x| x.as_str().to_ascii_lowercase());
    let anchor = ctx.day();
    let d = match rel.as_deref() {
        Some("last" | "past") => resolve_weekday(anchor, wd, Pick::Before),
        Some("next" | "coming") => resolve_weekday(anchor, wd, Pick::After),
        // "this Friday" is the coming one unless the clause looks back.
        Some("this") => {
            let pick = match ctx.tense(&r) {
                Tense::Past => Pick::OnOrBefore,
                _ => Pick::OnOrAfter,
            };
            resolve_weekday(anchor, wd, pick)
        }
        _ => resolve_weekday(anchor, wd, Pick::from_tense(ctx.tense(&r))),
    };
    match c.name("pod") {
        Some(p) => found(TimexType::Time, format!("{}T{}", fmt_day(d), pod_code(p.as_str()))),
        None => date(fmt_day(d)),
    }
}

fn relative_day(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let r = span(c);
    // A capitalised "Today" inside a sentence is a title ("BBC Radio 4's Today", "USA Today").
    let capitalised = c.get(0).is_some_and(|m| m.as_str().starts_with(char::is_uppercase));
    let after_word = ctx.text[..r.start]
        .trim_end()
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric);
    if capitalised && after_word {
        return None;
    }
    let w = c["w"].to_ascii_lowercase();
    let offset = match w.as_str() {
        "yesterday" => -1,
        "tomorrow" => 1,
        _ => 0,
    };
    let d = ctx.day() + Duration::days(offset);
    let pod = match (w.as_str(), c.name("pod")) {
        (_, Some(p)) => Some(pod_code(p.as_str())),
        ("tonight", None) => Some("NI"),
        _ => None,
    };
    match pod {
        Some(p) => found(TimexType::Time, format!("{}T{p}", fmt_day(d))),
        None => date(fmt_day(d)),
    }
}

fn day_before_after(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let off = if c["dir"].to_ascii_lowercase().starts_with("before") {
        -2
    } else {
        2
    };
    date(fmt_day(ctx.day() + Duration::days(off)))
}

fn this_part_of_day(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let last = c["w"].eq_ignore_ascii_case("last");
    let pod = pod_code(&c["pod"]);
    // "last night" is the night before the anchor day; "last morning" is not idiomatic.
    if last && pod != "NI" && pod != "EV" {
        return None;
    }
    let d = ctx.day() - Duration::days(i64::from(last));
    found(TimexType::Time, format!("{}T{pod}", fmt_day(d)))
}

fn season_code(u: &str) -> Option<&'static str> {
    Some(match u {
        "spring" => "SP",
        "summer" => "SU",
        "fall" | "autumn" => "FA",
        "winter" => "WI",
        _ => return None,
    })
}

/// Season index within a year (winter counted at the start, as TIMEX3 "YYYY-WI" covers the
/// winter that begins in December of YYYY).
fn season_of_month(m: u32) -> u32 {
    match m {
        3..=5 => 0,
        6..=8 => 1,
        9..=11 => 2,
        _ => 3,
    }
}

fn relative_unit(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let rel = c["rel"].to_ascii_lowercase();
    let rel = rel.split_whitespace().collect::<Vec<_>>().join(" ");
    let u = c["u"].to_ascii_lowercase();
    let a = ctx.day();
    // "the past/next year" is a stretch of time, not a calendar unit.
    let delta: i32 = match rel.as_str() {
        "the past" | "the last" | "the next" | "the coming" | "the following" => {
            let v = match u.as_str() {
                "week" => "P1W",
                "weekend" => "P2D",
                "month" => "P1M",
                "year" => "P1Y",
                "quarter" => "P1Q",
                "decade" => "P10Y",
                "century" => "P100Y",
                _ => return None,
            };
            return found(TimexType::Duration, v.to_string());
        }
        "last" | "past" | "previous" | "the previous" => -1,
        "next" | "coming" => 1,
        _ => 0,
    };
    let value = match u.as_str() {
        "week" => fmt_week(a + Duration::days(7 * delta as i64)),
        "weekend" => {
            // The weekend of the week in question; "this weekend" on a weekday is the coming one.
            let base = a + Duration::days(7 * delta as i64);
            format!("{}-WE", fmt_week(base))
        }
        "month" => {
            let (y, m) = add_months(a.year(), a.month(), delta);
            fmt_month(y, m)
        }
        "year" => format!("{:04}", a.year() + delta),
        "quarter" => {
            let (y, q) = add_quarters(a.year(), quarter_of(a.month()), delta);
            format!("{y:04}-Q{q}")
        }
        "decade" => format!("{:03}", a.year() / 10 + delta),
        "century" => format!("{:02}", a.year() / 100 + delta),
        s => {
            let code = season_code(s)?;
            let target = ["SP", "SU", "FA", "WI"].iter().position(|x| *x == code)? as i32;
            let cur = season_of_month(a.month()) as i32;
            // Winter months Jan-Feb belong to the winter that started the previous December.
            let base_year = if a.month() <= 2 { a.year() - 1 } else { a.year() };
            let y = match delta {
                -1 => {
                    if target < cur {
                        base_year
                    } else {
                        base_year - 1
                    }
                }
                1 => {
                    if target > cur {
                        base_year
                    } else {
                        base_year + 1
                    }
                }
                _ => base_year,
            };
            format!("{y:04}-{code}")
        }
    };
    date(value)
}

fn ordinal(s: &str) -> Option<u32> {
    Some(match s.to_ascii_lowercase().as_str() {
        "first" | "1st" => 1,
        "second" | "2nd" => 2,
        "third" | "3rd" => 3,
        "fourth" | "4th" => 4,
        _ => return None,
    })
}

fn quarter(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let r = span(c);
    let n = ordinal(&c["q"])?;
    let half = c["u"].eq_ignore_ascii_case("half");
    if half && n > 2 {
        return None;
    }
    let a = ctx.day();
    let explicit = c
        .name("y")
        .or(c.name("yy"))
        .and_then(|y| y.as_str().parse::<i32>().ok());
    let y = match (explicit, c.name("own").map(|o| o.as_str().to_ascii_lowercase())) {
        (Some(y), _) => y,
        (None, Some(o)) if o == "last" => a.year() - 1,
        (None, Some(o)) if o == "next" => a.year() + 1,
        (None, Some(_)) => a.year(),
        (None, None) => {
            let current = if half {
                (a.month() - 1) / 6 + 1
            } else {
                quarter_of(a.month())
            };
            // A period that has not started yet is last year's unless the clause is future.
            if n > current && ctx.tense(&r) != Tense::Future {
                a.year() - 1
            } else {
                a.year()
            }
        }
    };
    date(format!("{y:04}-{}{n}", if half { 'H' } else { 'Q' }))
}

fn bare_quarter(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let r = span(c);
    let text = c.get(0)?.as_str().to_ascii_lowercase();
    // "a quarter of" is a fraction; a bare "quarter" must be determined.
    if !text.starts_with("the") && c.name("rel").is_none() {
        return None;
    }
    if ctx.after(r.end).trim_start().starts_with("of") {
        return None;
    }
    let a = ctx.day();
    let delta = match c.name("rel").map(|x| x.as_str().to_ascii_lowercase()) {
        Some(s) if s == "current" => 0,
        Some(s) if s == "next" || s == "coming" => 1,
        // Financial reporting: "the quarter" is the latest completed one.
        _ => -1,
    };
    let (y, q) = add_quarters(a.year(), quarter_of(a.month()), delta);
    date(format!("{y:04}-Q{q}"))
}

fn decade(c: &Captures, _ctx: &Ctx) -> Option<Found> {
    let v = match (c.name("c"), c.name("d"), c.name("d2")) {
        (Some(cc), Some(d), _) => format!("{}{}", cc.as_str(), d.as_str()),
        (_, _, Some(d2)) => format!("19{}", d2.as_str()),
        _ => return None,
    };
    date(v)
}

fn century(c: &Captures, _ctx: &Ctx) -> Option<Found> {
    let n: u32 = c["n"].parse().ok()?;
    (1..=30).contains(&n).then_some(())?;
    date(format!("{:02}", n - 1))
}

fn year(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let ym = c.name("y")?;
    let y: i32 = ym.as_str().parse().ok()?;
    let pre = c.name("pre").map(|p| p.as_str().to_ascii_lowercase());
    if year_is_not_temporal(ctx, &ym.range()) {
        return None;
    }
    // Years long past need a temporal cue; bare numbers like "1500" are usually counts.
    if pre.is_none() && y < 1900 && !MONTH_PREPS.contains(&ctx.word_before(ym.start()).as_str()) {
        return None;
    }
    let pre = pre.unwrap_or_default();
    let value = if pre.contains("first half") {
        format!("{y:04}-H1")
    } else if pre.contains("second half") {
        format!("{y:04}-H2")
    } else if let Some(code) = ["spring", "summer", "fall", "autumn", "winter"]
        .iter()
        .find(|s| pre.contains(*s))
        .and_then(|s| season_code(s))
    {
        format!("{y:04}-{code}")
    } else {
        format!("{y:04}")
    };
    date(value)
}

fn spoken_year(c: &Captures, _ctx: &Ctx) -> Option<Found> {
    let words = |s: &str| -> Option<i32> {
        s.to_ascii_lowercase()
            .split(|ch: char| ch == '-' || ch.is_whitespace())
            .filter(|w| !w.is_empty() && *w != "oh")
            .map(|w| word_value(w).map(|v| v as i32))
            .sum()
    };
    let y = match (c.name("c"), c.name("yy")) {
        (Some(cc), Some(yy)) => words(cc.as_str())? * 100 + words(yy.as_str())?,
        _ => 2000 + c.name("after").map_or(Some(0), |a| words(a.as_str()))?,
    };
    (y < 2100).then_some(())?;
    date(format!("{y:04}"))
}

fn year_earlier(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let a = ctx.day();
    match c.name("p") {
        Some(p) if p.as_str().eq_ignore_ascii_case("quarter") => {
            let (y, q) = add_quarters(a.year(), quarter_of(a.month()), -1);
            date(format!("{:04}-Q{q}", y - 1))
        }
        _ => year_shift(format!("{:04}", a.year() - 1), 1),
    }
}

fn holiday_rule(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let r = span(c);
    let name = c.get(0)?.as_str().trim_start_matches("the ");
    let a = ctx.day();
    let pick = Pick::from_tense(ctx.tense(&r));
    let cands: Vec<NaiveDate> = (a.year() - 1..=a.year() + 1).filter_map(|y| holiday(name, y)).collect();
    let d = match pick {
        Pick::OnOrBefore => cands.iter().rev().find(|d| **d <= a).copied(),
        Pick::OnOrAfter => cands.iter().find(|d| **d >= a).copied(),
        _ => cands.iter().min_by_key(|d| (**d - a).num_days().abs()).copied(),
    }?;
    date(fmt_day(d))
}

/// A parsed count: exact, or vague ("several", "a few").
enum Count {
    Exact(f64),
    Vague,
}

fn word_value(w: &str) -> Option<f64> {
    const SMALL: &[&str] = &[
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: &[&str] = &[
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    if let Some(i) = SMALL.iter().position(|s| *s == w) {
        return Some(i as f64);
    }
    if let Some(i) = TENS.iter().position(|s| *s == w) {
        return Some(20.0 + 10.0 * i as f64);
    }
    match w {
        "a" | "an" => Some(1.0),
        "dozen" => Some(12.0),
        "hundred" => Some(100.0),
        _ => None,
    }
}

fn parse_count(s: &str) -> Option<Count> {
    let s = s.to_ascii_lowercase().replace('-', " ");
    let (s, half) = match s.strip_suffix(" and a half") {
        Some(rest) => (rest.to_string(), 0.5),
        None => (s, 0.0),
    };
    let s = s.trim();
    if matches!(s, "a few" | "few" | "several" | "many" | "some") {
        return Some(Count::Vague);
    }
    if s.ends_with("couple of") {
        return Some(Count::Exact(2.0));
    }
    if s.starts_with("half ") {
        return Some(Count::Exact(0.5));
    }
    let first = s.chars().next()?;
    if first.is_ascii_digit() {
        let (int, frac) = if let Some(x) = s.strip_suffix("1/2") {
            (x.trim(), 0.5)
        } else if let Some(x) = s.strip_suffix('½') {
            (x.trim(), 0.5)
        } else {
            (s, 0.0)
        };
        let v: f64 = int.replace(',', "").parse().ok()?;
        return Some(Count::Exact(v + frac + half));
    }
    let mut total = 0.0;
    let mut cur = 0.0;
    for w in s.split_whitespace() {
        let v = word_value(w)?;
        if v == 100.0 || v == 12.0 && w == "dozen" {
            cur = if cur == 0.0 { v } else { cur * v };
        } else {
            cur += v;
        }
        if v == 100.0 {
            total += cur;
            cur = 0.0;
        }
    }
    Some(Count::Exact(total + cur + half))
}

/// TIMEX3 duration letter for a unit word, and whether it is a time-of-day unit.
fn unit_code(u: &str) -> Option<(&'static str, bool)> {
    let u = u.to_ascii_lowercase();
    let u = u.trim_end_matches('s');
    Some(match u {
        "second" => ("S", true),
        "minute" => ("M", true),
        "hour" => ("H", true),
        "day" => ("D", false),
        "week" => ("W", false),
        "weekend" => ("WE", false),
        "fortnight" => ("FN", false),
        "month" => ("M", false),
        "quarter" => ("Q", false),
        "year" => ("Y", false),
        "decade" => ("DE", false),
        "century" | "centurie" => ("CE", false),
        _ => return None,
    })
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// TIMEX3 duration value for `count` units.
fn duration_value(count: &Count, unit: &str) -> Option<String> {
    let (code, is_time) = unit_code(unit)?;
    let t = if is_time { "T" } else { "" };
    let Count::Exact(n) = count else {
        return Some(format!("P{t}X{}", normalise_code(code).1));
    };
    let (mult, code) = normalise_code(code);
    let n = n * mult;
    if n.fract() != 0.0 {
        // TIMEX3 writes "2 1/2 years" as P2Y6M: the fraction goes to the next smaller unit.
        let (per, sub, sub_t) = match (code, is_time) {
            ("Y", _) => (12.0, "M", ""),
            ("M", false) => (30.0, "D", ""),
            ("W", _) => (7.0, "D", ""),
            ("D", _) => (24.0, "H", "T"),
            ("H", _) => (60.0, "M", ""),
            (_, _) => (60.0, "S", ""),
        };
        let whole = n.trunc() as i64;
        let part = ((n.fract()) * per).round() as i64;
        if code == "W" {
            return Some(format!("P{}D", whole * 7 + part));
        }
        return Some(match whole {
            0 => format!("P{t}{sub_t}{part}{sub}"),
            _ => format!("P{t}{whole}{code}{sub_t}{part}{sub}"),
        });
    }
    Some(format!("P{t}{}{code}", fmt_num(n)))
}

/// Units TIMEX3 writes through other units: fortnights as weeks, decades as years.
fn normalise_code(code: &str) -> (f64, &'static str) {
    match code {
        "FN" => (2.0, "W"),
        "WE" => (2.0, "D"),
        "DE" => (10.0, "Y"),
        "CE" => (100.0, "Y"),
        "S" => (1.0, "S"),
        "M" => (1.0, "M"),
        "H" => (1.0, "H"),
        "D" => (1.0, "D"),
        "W" => (1.0, "W"),
        "Q" => (1.0, "Q"),
        _ => (1.0, "Y"),
    }
}

fn is_age(ctx: &Ctx, end: usize) -> bool {
    let after = ctx.after(end).to_ascii_lowercase();
    after.starts_with("-old") || after.starts_with(" old") || after.starts_with(" of age") || after.starts_with("s old")
}

fn ago(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let count = match c.name("num") {
        Some(n) => parse_count(n.as_str())?,
        // "months ago": a bare plural is a vague count, a bare singular is no expression.
        None if c["u"].ends_with('s') => Count::Vague,
        None => return None,
    };
    let (code, is_time) = unit_code(&c["u"])?;
    let dir = c["dir"].to_ascii_lowercase();
    let sign: i64 = if dir == "ago" || dir == "earlier" { -1 } else { 1 };
    // "earlier"/"later" count from a narrated event, so only years (the financial
    // "a year earlier") are anchored on the document date; others stay durations.
    if (dir == "earlier" || dir == "later") && (code != "Y" || matches!(count, Count::Vague)) {
        return found(TimexType::Duration, duration_value(&count, &c["u"])?);
    }
    let Count::Exact(n) = count else {
        return date(if sign < 0 { "PAST_REF" } else { "FUTURE_REF" }.to_string());
    };
    if n.fract() != 0.0 || n > 10000.0 {
        return None;
    }
    let n = n as i64 * sign;
    let a = ctx.day();
    let value = match (code, is_time) {
        (_, true) => {
            // Hours or minutes from a date-only anchor would guess the day.
            if ctx.anchor.time().num_seconds_from_midnight() == 0 {
                return date(if sign < 0 { "PAST_REF" } else { "FUTURE_REF" }.to_string());
            }
            let secs = match code {
                "H" => 3600,
                "M" => 60,
                _ => 1,
            };
            let t = ctx.anchor + Duration::seconds(n * secs);
            return found(
                TimexType::Time,
                format!("{}T{:02}:{:02}", fmt_day(t.date()), t.hour(), t.minute()),
            );
        }
        ("D", _) => fmt_day(a + Duration::days(n)),
        ("W", _) => fmt_week(a + Duration::days(7 * n)),
        ("FN", _) => fmt_week(a + Duration::days(14 * n)),
        ("M", _) => {
            let (y, m) = add_months(a.year(), a.month(), n as i32);
            fmt_month(y, m)
        }
        ("Q", _) => {
            let (y, q) = add_quarters(a.year(), quarter_of(a.month()), n as i32);
            format!("{y:04}-Q{q}")
        }
        ("Y", _) if sign < 0 && n == -1 => {
            return year_shift(format!("{:04}", a.year() as i64 + n), -n as i32);
        }
        ("Y", _) => format!("{:04}", a.year() as i64 + n),
        ("DE", _) => format!("{:04}", a.year() as i64 + 10 * n),
        ("CE", _) => format!("{:04}", a.year() as i64 + 100 * n),
        _ => return None,
    };
    date(value)
}

fn duration(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let r = span(c);
    if is_age(ctx, r.end) {
        return None;
    }
    let num = &c["num"];
    let unit = &c["u"];
    let plural = unit.ends_with(['s', 'S']);
    let hyphen = c["sep"].contains('-');
    let lnum = num.to_ascii_lowercase();
    let singular_article = matches!(lnum.as_str(), "a" | "an");
    let count = match (parse_count(num)?, c.name("half")) {
        (Count::Exact(n), Some(_)) => Count::Exact(n + 0.5),
        (count, _) => count,
    };
    // "a day" needs a singular unit, vague counts a plural one; "$5 a year" is a rate.
    if singular_article {
        if plural {
            return None;
        }
        let before = ctx.word_before(r.start);
        if before.chars().next().is_some_and(|ch| ch.is_ascii_digit())
            || matches!(
                before.as_str(),
                "once" | "twice" | "times" | "per" | "million" | "billion" | "percent" | "cents" | "dollars"
            )
        {
            return None;
        }
    }
    if matches!(count, Count::Vague) && !plural {
        return None;
    }
    if hyphen && (plural || matches!(count, Count::Vague)) {
        return None; // "three-quarters", "several-fold"
    }
    let lunit = unit.to_ascii_lowercase();
    // "a quarter of", "a second time": fractions and ordinals, not lengths of time.
    if (lunit.starts_with("quarter") && (singular_article || ctx.after(r.end).trim_start().starts_with("of")))
        || (lunit == "second" && singular_article)
    {
        return None;
    }
    found(TimexType::Duration, duration_value(&count, unit)?)
}

fn vague_duration(c: &Captures, _ctx: &Ctx) -> Option<Found> {
    let u = c.name("u").or(c.name("u2")).or(c.name("u3"))?;
    found(TimexType::Duration, duration_value(&Count::Vague, u.as_str())?)
}

fn set(c: &Captures, _ctx: &Ctx) -> Option<Found> {
    let t = c.get(0)?.as_str().to_ascii_lowercase();
    let last = t.split_whitespace().last().unwrap_or("");
    let value = match last {
        "daily" | "day" => "P1D".to_string(),
        "nightly" | "night" => "XXXX-XX-XXTNI".to_string(),
        "weekly" | "week" => "P1W".to_string(),
        "monthly" | "month" => "P1M".to_string(),
        "annually" | "yearly" | "year" => "P1Y".to_string(),
        "quarter" => "P3M".to_string(),
        "hourly" => "PT1H".to_string(),
        "weekend" => "XXXX-WXX-WE".to_string(),
        "morning" | "afternoon" | "evening" => format!("XXXX-XX-XXT{}", pod_code(last)),
        w => match weekday_of(w) {
            Some(wd) => format!("XXXX-WXX-{}", wd.number_from_monday()),
            None => return None,
        },
    };
    let value = if t.contains("other") {
        value.replacen("P1", "P2", 1)
    } else {
        value
    };
    found(TimexType::Set, value)
}

fn reference(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let r = span(c);
    let t = c.get(0)?.as_str().to_ascii_lowercase();
    // "now-defunct" is an adjective, "soon after" relates to an event.
    if ctx.after(r.end).starts_with('-') {
        return None;
    }
    let v = if t.contains("future") || t.contains("term") {
        "FUTURE_REF"
    } else if t.contains("past") || t.contains("recent") || t.contains("lately") {
        "PAST_REF"
    } else {
        "PRESENT_REF"
    };
    date(v.to_string())
}

fn the_unit(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let r = span(c);
    let after = ctx.after(r.end).trim_start().to_ascii_lowercase();
    // "the year before", "the year of the dragon", "the year-ago" point elsewhere.
    const ANAPHORIC: &[&str] = &[
        "of", "before", "after", "earlier", "ago", "when", "in which", "that", "later", "-", "'s",
    ];
    if ANAPHORIC.iter().any(|w| after.starts_with(w)) || ctx.after(r.end).starts_with('-') {
        return None;
    }
    let a = ctx.day();
    match c["u"].to_ascii_lowercase().as_str() {
        "year" => date(format!("{:04}", a.year())),
        _ => {
            let pick = Pick::from_tense(ctx.tense(&r));
            let sat = resolve_weekday(a, Weekday::Sat, pick);
            date(format!("{}-WE", fmt_week(sat)))
        }
    }
}

/// Time of day as "HH:MM", without a date.
fn time_of_day(c: &Captures, ctx: &Ctx) -> Option<Found> {
    let (h, mi) = if let Some(n) = c.name("noon") {
        match n.as_str().to_ascii_lowercase().as_str() {
            "midnight" => (0, 0),
            _ => (12, 0),
        }
    } else if let Some(h) = c.name("h") {
        let mut h: u32 = h.as_str().parse().ok()?;
        let mi: u32 = c.name("mi").map_or(Some(0), |m| m.as_str().parse().ok())?;
        if !(1..=12).contains(&h) {
            return None;
        }
        let pm = c["ap"].to_ascii_lowercase().starts_with('p');
        if pm && h != 12 {
            h += 12;
        } else if !pm && h == 12 {
            h = 0;
        }
        (h, mi)
    } else {
        let h: u32 = c.name("h2")?.as_str().parse().ok()?;
        let mi: u32 = c.name("mi2")?.as_str().parse().ok()?;
        // A bare "3:30" may be a score or ratio: require a time zone or a temporal preposition.
        let before = ctx.word_before(c.get(0)?.start());
        if c.name("tz").is_none()
            && !matches!(
                before.as_str(),
                "at" | "around" | "about" | "by" | "until" | "till" | "from" | "before" | "after" | "since"
            )
        {
            return None;
        }
        (h, mi)
    };
    found(TimexType::Time, format!("T{h:02}:{mi:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let v = |s: &str| match parse_count(s) {
            Some(Count::Exact(v)) => Some(v),
            _ => None,
        };
        assert_eq!(v("twenty four"), Some(24.0));
        assert_eq!(v("twenty-four"), Some(24.0));
        assert_eq!(v("one hundred"), Some(100.0));
        assert_eq!(v("2 1/2"), Some(2.5));
        assert_eq!(v("1,000"), Some(1000.0));
        assert_eq!(v("a couple of"), Some(2.0));
        assert!(matches!(parse_count("several"), Some(Count::Vague)));
    }

    #[test]
    fn durations() {
        assert_eq!(duration_value(&Count::Exact(2.5), "years").as_deref(), Some("P2Y6M"));
        assert_eq!(duration_value(&Count::Exact(3.0), "hours").as_deref(), Some("PT3H"));
        assert_eq!(duration_value(&Count::Vague, "weeks").as_deref(), Some("PXW"));
        assert_eq!(duration_value(&Count::Exact(2.0), "decades").as_deref(), Some("P20Y"));
    }
}
