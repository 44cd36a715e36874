//! The readiness checklist: numbered items, each with an owner, open or
//! done. One checklist per Black Friday (`checklist/<year>` in the store),
//! so the day after Black Friday starts next year's with an empty one and
//! this year's is kept.
//!
//! The whole checklist is one JSON value changed by compare-and-swap, so two
//! people adding at once get two numbers, and a change that is refused
//! (a wrong number) writes nothing.

use serde::{Deserialize, Serialize};

use crate::parse::escape;

/// At most this many items (what stays readable in one message).
pub const MAX_ITEMS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Owner {
    User(String),
    Group(String),
}

impl Owner {
    /// How Slack shows it: a mention.
    pub fn mention(&self) -> String {
        match self {
            Owner::User(id) => format!("<@{id}>"),
            Owner::Group(id) => format!("<!subteam^{id}>"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Its number, never reused within a checklist.
    pub n: u32,
    pub title: String,
    pub owner: Owner,
    pub added_by: String,
    /// Who marked it done, while it is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_by: Option<String>,
}

impl Item {
    /// `#2 “Load test checkout”`.
    pub fn label(&self) -> String {
        format!("#{} “{}”", self.n, escape(&self.title))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    /// The last number given.
    pub last: u32,
    pub items: Vec<Item>,
}

/// What a change did; `Unchanged` ones are not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added(Item),
    Done(Item),
    AlreadyDone(Item),
    Reopened(Item),
    AlreadyOpen(Item),
    Removed(Item),
}

impl Change {
    pub fn changed(&self) -> bool {
        !matches!(self, Change::AlreadyDone(_) | Change::AlreadyOpen(_))
    }
}

impl Checklist {
    pub fn open(&self) -> usize {
        self.items.iter().filter(|i| i.done_by.is_none()).count()
    }

    pub fn done(&self) -> usize {
        self.items.len() - self.open()
    }

    pub fn add(&mut self, title: &str, owner: Owner, by: &str) -> Result<Change, String> {
        if self.items.len() >= MAX_ITEMS {
            return Err(format!(
                "The checklist has {MAX_ITEMS} items already, the most it holds. Remove one first (`/blackfriday checklist remove N`)."
            ));
        }
        if let Some(same) = self
            .items
            .iter()
            .find(|i| i.title.to_lowercase() == title.to_lowercase())
        {
            return Err(format!(
                "{} is on the checklist already (owner {}).",
                same.label(),
                same.owner.mention()
            ));
        }
        self.last += 1;
        let item = Item {
            n: self.last,
            title: title.to_string(),
            owner,
            added_by: by.to_string(),
            done_by: None,
        };
        self.items.push(item.clone());
        Ok(Change::Added(item))
    }

    fn find(&mut self, n: u32) -> Result<&mut Item, String> {
        let open = self.open();
        let total = self.items.len();
        self.items.iter_mut().find(|i| i.n == n).ok_or_else(|| {
            if total == 0 {
                format!("There is no item #{n}: the checklist is empty. Add one with {}.", crate::parse::ADD_EXAMPLE)
            } else {
                format!(
                    "There is no item #{n} on the checklist ({open} open, {} done: `/blackfriday checklist list` shows their numbers).",
                    total - open
                )
            }
        })
    }

    pub fn mark_done(&mut self, n: u32, by: &str) -> Result<Change, String> {
        let item = self.find(n)?;
        if item.done_by.is_some() {
            return Ok(Change::AlreadyDone(item.clone()));
        }
        item.done_by = Some(by.to_string());
        Ok(Change::Done(item.clone()))
    }

    pub fn reopen(&mut self, n: u32) -> Result<Change, String> {
        let item = self.find(n)?;
        if item.done_by.is_none() {
            return Ok(Change::AlreadyOpen(item.clone()));
        }
        item.done_by = None;
        Ok(Change::Reopened(item.clone()))
    }

    pub fn remove(&mut self, n: u32) -> Result<Change, String> {
        let item = self.find(n)?.clone();
        self.items.retain(|i| i.n != n);
        Ok(Change::Removed(item))
    }

    /// "2 open, 1 done", or that it is empty / all done.
    pub fn summary(&self) -> String {
        match (self.open(), self.done()) {
            (0, 0) => "nothing on it yet".into(),
            (0, done) => format!("all {done} done :white_check_mark:"),
            (open, done) => format!("{open} open, {done} done"),
        }
    }

    /// The list as people read it: one line per item, its owner, open or done.
    pub fn render(&self, year: i32) -> String {
        if self.items.is_empty() {
            return format!(
                "The readiness checklist for Black Friday {year} is empty. Add an item with {}.",
                crate::parse::ADD_EXAMPLE
            );
        }
        let mut text = format!(
            "*Readiness checklist for Black Friday {year}* — {}",
            self.summary()
        );
        for item in &self.items {
            match &item.done_by {
                None => text.push_str(&format!(
                    "\n:white_large_square: *{}.* {} — owner {} — open",
                    item.n,
                    escape(&item.title),
                    item.owner.mention()
                )),
                Some(by) => text.push_str(&format!(
                    "\n:white_check_mark: *{}.* ~{}~ — owner {} — done (by <@{by}>)",
                    item.n,
                    escape(&item.title),
                    item.owner.mention()
                )),
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> Owner {
        Owner::User(id.into())
    }

    #[test]
    fn numbers_are_given_in_order_and_never_reused() {
        let mut list = Checklist::default();
        list.add("Load test", user("UA"), "UC").unwrap();
        list.add("Freeze deploys", user("UB"), "UC").unwrap();
        let second = list.items[1].clone();
        assert_eq!(list.remove(2), Ok(Change::Removed(second)));
        match list
            .add("Scale DB", Owner::Group("S1".into()), "UC")
            .unwrap()
        {
            Change::Added(item) => assert_eq!(item.n, 3),
            other => panic!("{other:?}"),
        }
        assert_eq!(list.items.iter().map(|i| i.n).collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn done_and_reopen_are_idempotent() {
        let mut list = Checklist::default();
        list.add("Load test", user("UA"), "UC").unwrap();
        assert!(matches!(list.mark_done(1, "UB"), Ok(Change::Done(_))));
        assert!(
            matches!(list.mark_done(1, "UC"), Ok(Change::AlreadyDone(i)) if i.done_by.as_deref() == Some("UB"))
        );
        assert_eq!((list.open(), list.done()), (0, 1));
        assert!(matches!(list.reopen(1), Ok(Change::Reopened(_))));
        assert!(matches!(list.reopen(1), Ok(Change::AlreadyOpen(_))));
        assert_eq!(list.summary(), "1 open, 0 done");
    }

    #[test]
    fn wrong_numbers_and_duplicates_change_nothing() {
        let mut list = Checklist::default();
        assert!(list
            .mark_done(1, "UB")
            .unwrap_err()
            .contains("the checklist is empty"));
        list.add("Load test", user("UA"), "UC").unwrap();
        let before = list.clone();
        assert!(list
            .mark_done(7, "UB")
            .unwrap_err()
            .contains("There is no item #7"));
        assert!(list.remove(7).is_err());
        assert!(list
            .add("load TEST", user("UB"), "UC")
            .unwrap_err()
            .contains("on the checklist already"));
        assert_eq!(list, before);
    }

    #[test]
    fn the_list_shows_owners_and_state() {
        let mut list = Checklist::default();
        assert!(list.render(2026).contains("is empty"));
        list.add("Load test <checkout>", user("UA"), "UC").unwrap();
        list.add("Freeze deploys", Owner::Group("S1".into()), "UC")
            .unwrap();
        list.mark_done(2, "UB").unwrap();
        let text = list.render(2026);
        assert!(
            text.contains("Black Friday 2026* — 1 open, 1 done"),
            "{text}"
        );
        assert!(
            text.contains("*1.* Load test &lt;checkout&gt; — owner <@UA> — open"),
            "{text}"
        );
        assert!(
            text.contains("*2.* ~Freeze deploys~ — owner <!subteam^S1> — done (by <@UB>)"),
            "{text}"
        );
    }

    #[test]
    fn the_list_holds_at_most_max_items() {
        let mut list = Checklist::default();
        for i in 0..MAX_ITEMS {
            list.add(&format!("item {i}"), user("UA"), "UC").unwrap();
        }
        assert!(list
            .add("one more", user("UA"), "UC")
            .unwrap_err()
            .contains("100 items"));
    }
}
