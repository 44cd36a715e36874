//! How votes are kept: a poll's voters are spread over a few **shards**,
//! each one store value holding its voters' choices *and* its counts, so a
//! vote is one compare-and-swap of one value. Nothing is ever written in two
//! steps that a crash could separate: a kill between any two store calls
//! leaves every shard's counts equal to its voters' choices, and a vote sent
//! again (Slack retrying, a user clicking twice) finds it is already there.
//!
//! A shard is text, so reading only the counts (to draw the results) parses
//! its first line and no more:
//!
//! ```text
//! o 3 2 1 0        open (c: closed), 3 voters, counts of options 0, 1, 2
//! U024BE7LH 0      a voter (a salted hash when the poll is anonymous) and their options
//! U0G9QF9C6 0 1
//! ```

/// One shard of a poll's votes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shard {
    pub closed: bool,
    /// Votes per option; options added after the last write count 0.
    pub counts: Vec<u64>,
    /// Each voter here and the options they chose, in the order voted.
    pub voters: Vec<(String, Vec<u16>)>,
}

/// The first line of a shard: whether it is closed, its voters and counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    pub closed: bool,
    pub voters: u64,
    pub counts: Vec<u64>,
}

impl Header {
    pub fn parse(text: &str) -> Header {
        let line = text.split('\n').next().unwrap_or_default();
        let mut words = line.split(' ');
        let closed = words.next() == Some("c");
        let voters = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        let counts = words.filter_map(|w| w.parse().ok()).collect();
        Header {
            closed,
            voters,
            counts,
        }
    }

    /// Adds another shard's numbers to these.
    pub fn add(&mut self, other: &Header) {
        self.closed |= other.closed;
        self.voters += other.voters;
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (total, n) in self.counts.iter_mut().zip(&other.counts) {
            *total += n;
        }
    }

    pub fn count(&self, option: usize) -> u64 {
        self.counts.get(option).copied().unwrap_or(0)
    }

    pub fn votes(&self) -> u64 {
        self.counts.iter().sum()
    }
}

impl Header {
    fn to_text(&self) -> String {
        let mut text = String::with_capacity(8 + self.counts.len() * 4);
        text.push(if self.closed { 'c' } else { 'o' });
        text.push(' ');
        text.push_str(&self.voters.to_string());
        for n in &self.counts {
            text.push(' ');
            text.push_str(&n.to_string());
        }
        text
    }
}

/// A shard's text with one voter's choices read, to change without
/// parsing the other voters' lines: a vote costs a search and a copy
/// whatever the shard's size.
pub struct Edit<'a> {
    text: &'a str,
    pub header: Header,
    /// The voter's line, as a byte range of `text`, if they have one.
    line: Option<(usize, usize)>,
    pub choices: Vec<u16>,
}

impl<'a> Edit<'a> {
    pub fn of(text: &'a str, voter: &str) -> Edit<'a> {
        let header = Header::parse(text);
        let needle = format!("\n{voter} ");
        let line = text.find(&needle).map(|at| {
            let start = at + 1;
            let end = text[start..].find('\n').map_or(text.len(), |e| start + e);
            (start, end)
        });
        let choices = line
            .map(|(start, end)| {
                text[start..end]
                    .split(' ')
                    .skip(1)
                    .filter_map(|w| w.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        Edit {
            text,
            header,
            line,
            choices,
        }
    }

    /// The shard's text with `voter`'s choices made `choices` (none: no
    /// longer a voter), its counts kept equal to its voters' choices.
    pub fn with(&self, voter: &str, choices: &[u16]) -> String {
        let mut header = self.header.clone();
        for c in &self.choices {
            if let Some(n) = header.counts.get_mut(*c as usize) {
                *n = n.saturating_sub(1);
            }
        }
        for c in choices {
            let i = *c as usize;
            if header.counts.len() <= i {
                header.counts.resize(i + 1, 0);
            }
            header.counts[i] += 1;
        }
        let was = u64::from(!self.choices.is_empty());
        let is = u64::from(!choices.is_empty());
        header.voters = (header.voters + is).saturating_sub(was);
        let body = self.text.find('\n').map_or("", |nl| &self.text[nl..]);
        let mut text = header.to_text();
        text.reserve(body.len() + voter.len() + 4 * choices.len() + 1);
        match self.line {
            // The line starts after a newline, which goes with it.
            Some((start, end)) => {
                let nl = self.text.len() - body.len();
                text.push_str(&self.text[nl..start - 1]);
                text.push_str(&self.text[end..]);
            }
            None => text.push_str(body),
        }
        if !choices.is_empty() {
            text.push('\n');
            text.push_str(voter);
            for c in choices {
                text.push(' ');
                text.push_str(&c.to_string());
            }
        }
        text
    }
}

impl Shard {
    pub fn parse(text: &str) -> Shard {
        let header = Header::parse(text);
        let voters = text
            .split('\n')
            .skip(1)
            .filter(|line| !line.is_empty())
            .map(|line| {
                let mut words = line.split(' ');
                let voter = words.next().unwrap_or_default().to_string();
                (voter, words.filter_map(|w| w.parse().ok()).collect())
            })
            .collect();
        Shard {
            closed: header.closed,
            counts: header.counts,
            voters,
        }
    }

    #[cfg(test)]
    pub fn to_text(&self) -> String {
        let mut text = String::with_capacity(16 + self.voters.len() * 16);
        text.push(if self.closed { 'c' } else { 'o' });
        text.push(' ');
        text.push_str(&self.voters.len().to_string());
        for n in &self.counts {
            text.push(' ');
            text.push_str(&n.to_string());
        }
        for (voter, choices) in &self.voters {
            text.push('\n');
            text.push_str(voter);
            for c in choices {
                text.push(' ');
                text.push_str(&c.to_string());
            }
        }
        text
    }

    #[cfg(test)]
    pub fn choices(&self, voter: &str) -> Vec<u16> {
        self.voters
            .iter()
            .find(|(v, _)| v == voter)
            .map(|(_, c)| c.clone())
            .unwrap_or_default()
    }

    /// Makes `voter`'s choices `choices` (none: they are no longer a
    /// voter), keeping the counts equal to the choices: what [`Edit`]
    /// does on the text, the long way, to test it against.
    #[cfg(test)]
    pub fn set(&mut self, voter: &str, choices: Vec<u16>) {
        let old = self.choices(voter);
        for c in &old {
            if let Some(n) = self.counts.get_mut(*c as usize) {
                *n = n.saturating_sub(1);
            }
        }
        for c in &choices {
            let i = *c as usize;
            if self.counts.len() <= i {
                self.counts.resize(i + 1, 0);
            }
            self.counts[i] += 1;
        }
        let at = self.voters.iter().position(|(v, _)| v == voter);
        match (at, choices.is_empty()) {
            (Some(i), true) => {
                self.voters.remove(i);
            }
            (Some(i), false) => self.voters[i].1 = choices,
            (None, false) => self.voters.push((voter.to_string(), choices)),
            (None, true) => {}
        }
    }
}

/// FNV-1a: which shard a voter's line lives in (stable across versions).
pub fn shard_of(voter: &str, shards: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in voter.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(shards.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_choices_and_survive_a_round_trip() {
        let mut shard = Shard::default();
        shard.set("U1", vec![0]);
        shard.set("U2", vec![0, 2]);
        shard.set("U1", vec![1]);
        assert_eq!(shard.counts, vec![1, 1, 1]);
        let text = shard.to_text();
        assert_eq!(text, "o 2 1 1 1\nU1 1\nU2 0 2");
        assert_eq!(Shard::parse(&text), shard);
        assert_eq!(
            Header::parse(&text),
            Header {
                closed: false,
                voters: 2,
                counts: vec![1, 1, 1]
            }
        );
        shard.set("U2", vec![]);
        shard.set("U3", vec![]);
        shard.closed = true;
        assert_eq!(shard.to_text(), "c 1 0 1 0\nU1 1");
    }

    #[test]
    fn edits_match_a_full_parse() {
        let mut shard = Shard::default();
        let mut text = String::new();
        let steps: [(&str, &[u16]); 8] = [
            ("U1", &[0]),
            ("U2", &[0, 2]),
            ("U1", &[1]),
            ("U3", &[2]),
            ("U2", &[]),
            ("U1", &[1, 3]),
            ("U4", &[]),
            ("U3", &[]),
        ];
        for (voter, choices) in steps {
            let edit = Edit::of(&text, voter);
            assert_eq!(edit.choices, shard.choices(voter), "{voter} in {text:?}");
            text = edit.with(voter, choices);
            shard.set(voter, choices.to_vec());
            let parsed = Shard::parse(&text);
            assert_eq!(
                (parsed.counts.clone(), Header::parse(&text).voters),
                (shard.counts.clone(), shard.voters.len() as u64),
                "{text:?}"
            );
            let mut a = parsed.voters.clone();
            let mut b = shard.voters.clone();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{text:?}");
        }
        // A voter whose id is a prefix of another's is not mistaken for it.
        let text = Edit::of("", "U10").with("U10", &[1]);
        assert_eq!(Edit::of(&text, "U1").choices, Vec::<u16>::new());
        assert_eq!(Edit::of(&text, "U10").choices, vec![1]);
    }

    #[test]
    fn headers_add_up_across_shards_of_different_lengths() {
        let mut total = Header::default();
        total.add(&Header::parse("o 2 1 1"));
        total.add(&Header::parse("o 1 0 0 1"));
        assert_eq!((total.voters, total.counts.clone()), (3, vec![1, 1, 1]));
        assert_eq!(total.votes(), 3);
        assert_eq!(total.count(7), 0);
        assert!(shard_of("U1", 16) < 16);
        assert_eq!(shard_of("U1", 1), 0);
    }
}
