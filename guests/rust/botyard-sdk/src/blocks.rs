//! Block Kit builders: message blocks and modal / App Home views, as the JSON
//! Slack documents.
//!
//! The same rules name them in every botyard SDK (`docs/sdk.md`): a builder
//! is named after Slack's `type` (`section`, `static_select`, `modal` …), and
//! its arguments come in the order a person reads them — the visible text
//! first, then the id, then the options.
//!
//! Each builder is a JSON object under construction whose methods set Slack's
//! fields by their documented names. Nothing is checked here: the host checks
//! Slack's limits (50 blocks per message, 3000 characters of section text …)
//! and a call that breaks one returns `SlackError::InvalidBlocks` saying which.
//!
//! ```
//! use botyard_sdk::blocks::{self, option, Block, Element, View};
//!
//! let blocks = blocks::to_json([
//!     Block::header("Lunch"),
//!     Block::section("*Pho* or *ramen*?").field("Votes: 3").field("Closes: 11:30"),
//!     Block::actions([
//!         Element::button("Pho", "vote:pho").primary(),
//!         Element::button("Ramen", "vote:ramen"),
//!     ]),
//! ]);
//! assert!(blocks.starts_with('[') && blocks.contains(r#""type":"header""#));
//!
//! let modal = View::modal("Order")
//!     .callback_id("order")
//!     .submit("Order")
//!     .block(
//!         Block::input(
//!             "Dish",
//!             Element::static_select("Pick one", "dish", [option("Pho", "pho"), option("Ramen", "ramen")]),
//!         )
//!         .block_id("dish"),
//!     );
//! assert!(modal.to_json().contains(r#""callback_id":"order""#));
//! ```

use serde_json::{Map, Value};

use crate::ViewSubmission;

/// What every builder is: a JSON object under construction.
trait Object: Default + Into<Value> {
    fn fields(&mut self) -> &mut Map<String, Value>;

    fn of_type(kind: &str) -> Self {
        Self::default().with("type", kind)
    }

    fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields().insert(key.into(), value.into());
        self
    }

    /// Appends to the array under `key`, creating it.
    fn push(mut self, key: &str, value: impl Into<Value>) -> Self {
        let entry = self
            .fields()
            .entry(key)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = entry {
            items.push(value.into());
        }
        self
    }
}

macro_rules! object {
    ($($ty:ident),*) => {$(
        impl Object for $ty {
            fn fields(&mut self) -> &mut Map<String, Value> {
                &mut self.0
            }
        }

        impl From<$ty> for Value {
            fn from(object: $ty) -> Value {
                Value::Object(object.0)
            }
        }
    )*};
}

object!(Text, Block, Element, SelectOption, View);

/// A text object. Strings convert into `mrkdwn` text (Slack's markdown:
/// `*bold*`, `<@U123>` mentions); [`Text::plain`] is shown as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Text(Map<String, Value>);

impl Text {
    pub fn plain(text: impl Into<String>) -> Text {
        Text::of_type("plain_text").with("text", text.into())
    }

    pub fn mrkdwn(text: impl Into<String>) -> Text {
        Text::of_type("mrkdwn").with("text", text.into())
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text::mrkdwn(text)
    }
}

impl From<&String> for Text {
    fn from(text: &String) -> Text {
        Text::mrkdwn(text.as_str())
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text::mrkdwn(text)
    }
}

/// One block of a message or view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block(Map<String, Value>);

impl Block {
    /// Large bold plain text.
    pub fn header(text: impl Into<String>) -> Block {
        Block::of_type("header").with("text", Text::plain(text))
    }

    /// Text, optionally with [`field`](Block::field)s and an
    /// [`accessory`](Block::accessory) beside it.
    pub fn section(text: impl Into<Text>) -> Block {
        Block::of_type("section").with("text", text.into())
    }

    /// A section of fields only, shown in two columns.
    pub fn fields<T: Into<Text>>(fields: impl IntoIterator<Item = T>) -> Block {
        fields
            .into_iter()
            .fold(Block::of_type("section"), Block::field)
    }

    /// Adds a field to a section (Slack shows up to 10, in two columns).
    pub fn field(self, text: impl Into<Text>) -> Block {
        self.push("fields", text.into())
    }

    /// An element shown to the right of a section's text: a button, a
    /// select, an [`Element::image`].
    pub fn accessory(self, element: Element) -> Block {
        self.with("accessory", element)
    }

    /// A thin horizontal line.
    pub fn divider() -> Block {
        Block::of_type("divider")
    }

    /// Small grey text, one item after another.
    pub fn context<T: Into<Text>>(texts: impl IntoIterator<Item = T>) -> Block {
        texts
            .into_iter()
            .fold(Block::of_type("context"), |block, text| {
                block.push("elements", text.into())
            })
    }

    /// An image from a public URL; `alt_text` is read to screen readers.
    pub fn image(url: impl Into<String>, alt_text: impl Into<String>) -> Block {
        Block::of_type("image")
            .with("image_url", url.into())
            .with("alt_text", alt_text.into())
    }

    /// A caption above an [`image`](Block::image).
    pub fn title(self, text: impl Into<String>) -> Block {
        self.with("title", Text::plain(text))
    }

    /// Interactive elements in a row: buttons, selects, date pickers.
    pub fn actions(elements: impl IntoIterator<Item = Element>) -> Block {
        elements
            .into_iter()
            .fold(Block::of_type("actions"), |block, element| {
                block.push("elements", element)
            })
    }

    /// A labelled form field of a modal. Read what was entered with
    /// [`ViewSubmission::value`] under this block's [`block_id`](Block::block_id)
    /// and the element's `action_id`.
    pub fn input(label: impl Into<String>, element: Element) -> Block {
        Block::of_type("input")
            .with("label", Text::plain(label))
            .with("element", element)
    }

    /// An [`input`](Block::input) the user may leave empty.
    pub fn optional(self) -> Block {
        self.with("optional", true)
    }

    /// Help text under an [`input`](Block::input).
    pub fn hint(self, text: impl Into<String>) -> Block {
        self.with("hint", Text::plain(text))
    }

    /// Names the block, e.g. so a view submission's errors can point at it.
    pub fn block_id(self, id: impl Into<String>) -> Block {
        self.with("block_id", id.into())
    }
}

/// An interactive element: goes in [`Block::actions`], [`Block::input`] or a
/// section's [`accessory`](Block::accessory). Its `action_id` comes back in
/// [`ActionRequest::action_id`](crate::ActionRequest) exactly as written here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element(Map<String, Value>);

impl Element {
    /// A button labelled `text`; a click comes back with `action_id`.
    ///
    /// ```
    /// # use botyard_sdk::blocks::Element;
    /// let button = Element::button("Click me", "count").value("U1");
    /// ```
    pub fn button(text: impl Into<String>, action_id: impl Into<String>) -> Element {
        Element::of_type("button")
            .with("text", Text::plain(text))
            .with("action_id", action_id.into())
    }

    /// What a click sends back in [`ActionRequest::value`](crate::ActionRequest).
    pub fn value(self, value: impl Into<String>) -> Element {
        self.with("value", value.into())
    }

    /// A green button: the one action the user most likely wants.
    pub fn primary(self) -> Element {
        self.with("style", "primary")
    }

    /// A red button, for destructive actions.
    pub fn danger(self) -> Element {
        self.with("style", "danger")
    }

    /// A button that also opens this link in the browser.
    pub fn url(self, url: impl Into<String>) -> Element {
        self.with("url", url.into())
    }

    /// A drop-down of `options` showing `placeholder` until one is chosen;
    /// the choice comes back as the option's value.
    pub fn static_select(
        placeholder: impl Into<String>,
        action_id: impl Into<String>,
        options: impl IntoIterator<Item = SelectOption>,
    ) -> Element {
        options.into_iter().fold(
            Element::of_type("static_select")
                .with("placeholder", Text::plain(placeholder))
                .with("action_id", action_id.into()),
            |select, option| select.push("options", option),
        )
    }

    /// Selects one of a [`static_select`](Element::static_select)'s options
    /// when it is shown; it must be one of them.
    pub fn initial_option(self, option: SelectOption) -> Element {
        self.with("initial_option", option)
    }

    /// A drop-down of the workspace's users showing `placeholder` until one
    /// is chosen; the choice comes back as a user id.
    pub fn users_select(placeholder: impl Into<String>, action_id: impl Into<String>) -> Element {
        Element::of_type("users_select")
            .with("placeholder", Text::plain(placeholder))
            .with("action_id", action_id.into())
    }

    /// A text box, for [`Block::input`] (whose label is its visible text).
    pub fn plain_text_input(action_id: impl Into<String>) -> Element {
        Element::of_type("plain_text_input").with("action_id", action_id.into())
    }

    /// Makes a [`plain_text_input`](Element::plain_text_input) several lines high.
    pub fn multiline(self) -> Element {
        self.with("multiline", true)
    }

    /// Prefills a [`plain_text_input`](Element::plain_text_input).
    pub fn initial_value(self, text: impl Into<String>) -> Element {
        self.with("initial_value", text.into())
    }

    /// A calendar; the choice comes back as `YYYY-MM-DD`.
    pub fn datepicker(action_id: impl Into<String>) -> Element {
        Element::of_type("datepicker").with("action_id", action_id.into())
    }

    /// Preselects a [`datepicker`](Element::datepicker)'s day (`YYYY-MM-DD`).
    pub fn initial_date(self, date: impl Into<String>) -> Element {
        self.with("initial_date", date.into())
    }

    /// Grey text shown while a text box or date picker is empty.
    pub fn placeholder(self, text: impl Into<String>) -> Element {
        self.with("placeholder", Text::plain(text))
    }

    /// A small image, as a section's [`accessory`](Block::accessory).
    pub fn image(url: impl Into<String>, alt_text: impl Into<String>) -> Element {
        Element::of_type("image")
            .with("image_url", url.into())
            .with("alt_text", alt_text.into())
    }
}

/// One choice of a [`static_select`](Element::static_select): Slack's option
/// object. Made with [`option`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SelectOption(Map<String, Value>);

/// A choice shown as `text` that comes back as `value`:
/// `option("Lisbon", "lisbon")`.
pub fn option(text: impl Into<String>, value: impl Into<String>) -> SelectOption {
    SelectOption::default()
        .with("text", Text::plain(text))
        .with("value", value.into())
}

/// A modal (for `slack::open_view`, `push_view`, `update_view`, or
/// `ViewResponse::Update`/`Push`) or an App Home tab (`slack::publish_home`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View(Map<String, Value>);

impl View {
    /// A modal titled `title` (at most 24 characters).
    pub fn modal(title: impl Into<String>) -> View {
        View::of_type("modal")
            .with("title", Text::plain(title))
            .with("blocks", Vec::<Value>::new())
    }

    /// An App Home tab.
    pub fn home() -> View {
        View::of_type("home").with("blocks", Vec::<Value>::new())
    }

    /// Comes back as [`ViewSubmission::callback_id`] when the modal is submitted.
    pub fn callback_id(self, id: impl Into<String>) -> View {
        self.with("callback_id", id.into())
    }

    /// Up to 3000 characters the app gets back in
    /// [`ViewSubmission::private_metadata`], e.g. the channel to answer in.
    pub fn private_metadata(self, metadata: impl Into<String>) -> View {
        self.with("private_metadata", metadata.into())
    }

    /// The submit button's label; a modal with input blocks needs one.
    pub fn submit(self, text: impl Into<String>) -> View {
        self.with("submit", Text::plain(text))
    }

    /// The cancel button's label.
    pub fn close(self, text: impl Into<String>) -> View {
        self.with("close", Text::plain(text))
    }

    pub fn block(self, block: Block) -> View {
        self.push("blocks", block)
    }

    pub fn blocks(self, blocks: impl IntoIterator<Item = Block>) -> View {
        blocks.into_iter().fold(self, View::block)
    }

    /// The view as the JSON text the `slack` calls take.
    pub fn to_json(&self) -> String {
        Value::from(self.clone()).to_string()
    }
}

/// Blocks as the JSON array text a [`Message`](crate::Message)'s `blocks`
/// holds; [`Message::with_blocks`](crate::Message::with_blocks) calls this.
pub fn to_json(blocks: impl IntoIterator<Item = Block>) -> String {
    Value::Array(blocks.into_iter().map(Value::from).collect()).to_string()
}

impl ViewSubmission {
    /// What the user entered in the element `action_id` of the input block
    /// `block_id`: a text box's text, the chosen option's value, a date, a
    /// user id. `None` when the input was left empty or does not exist.
    ///
    /// ```
    /// # use botyard_sdk::{InvocationContext, ViewSubmission};
    /// # let context = InvocationContext { user_id: "U1".into(), channel_id: "C1".into(), trigger_id: None };
    /// let submission = ViewSubmission {
    ///     values: r#"{"dish":{"choice":{"type":"static_select","selected_option":{"value":"pho"}}}}"#.into(),
    /// #   callback_id: "order".into(), view_id: "V1".into(), private_metadata: "".into(), context,
    ///     // …
    /// };
    /// assert_eq!(submission.value("dish", "choice").as_deref(), Some("pho"));
    /// ```
    pub fn value(&self, block_id: &str, action_id: &str) -> Option<String> {
        state_value(&self.values, block_id, action_id)
    }
}

/// What `view.state.values` (JSON text) holds for one input element,
/// whatever its kind: shared by submitted and closed views.
pub(crate) fn state_value(values: &str, block_id: &str, action_id: &str) -> Option<String> {
    let values: Value = serde_json::from_str(values).ok()?;
    let state = values.get(block_id)?.get(action_id)?;
    let text = [
        "value",
        "selected_date",
        "selected_time",
        "selected_user",
        "selected_channel",
        "selected_conversation",
    ]
    .iter()
    .find_map(|key| state.get(key)?.as_str())
    .or_else(|| state.get("selected_option")?.get("value")?.as_str())?;
    Some(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn message_blocks_are_slacks_json() {
        let blocks = to_json([
            Block::header("Menu"),
            Block::section("*Pho*")
                .field(Text::plain("Votes: 3"))
                .accessory(Element::image("https://x/p.png", "pho"))
                .block_id("pho"),
            Block::fields(["a", "b"]),
            Block::divider(),
            Block::context(["left", "right"]),
            Block::image("https://x/i.png", "menu").title("Today"),
            Block::actions([
                Element::button("Vote", "vote").value("pho").primary(),
                Element::button("Drop", "drop").danger().url("https://x"),
                Element::static_select(
                    "Pick",
                    "dish",
                    [option("Pho", "pho"), option("Ramen", "ramen")],
                )
                .initial_option(option("Ramen", "ramen")),
            ]),
        ]);
        let plain = |t: &str| json!({"type": "plain_text", "text": t});
        let mrkdwn = |t: &str| json!({"type": "mrkdwn", "text": t});
        assert_eq!(
            parse(&blocks),
            json!([
                {"type": "header", "text": plain("Menu")},
                {"type": "section", "block_id": "pho", "text": mrkdwn("*Pho*"),
                 "fields": [plain("Votes: 3")],
                 "accessory": {"type": "image", "image_url": "https://x/p.png", "alt_text": "pho"}},
                {"type": "section", "fields": [mrkdwn("a"), mrkdwn("b")]},
                {"type": "divider"},
                {"type": "context", "elements": [mrkdwn("left"), mrkdwn("right")]},
                {"type": "image", "image_url": "https://x/i.png", "alt_text": "menu", "title": plain("Today")},
                {"type": "actions", "elements": [
                    {"type": "button", "action_id": "vote", "text": plain("Vote"), "value": "pho", "style": "primary"},
                    {"type": "button", "action_id": "drop", "text": plain("Drop"), "style": "danger", "url": "https://x"},
                    {"type": "static_select", "action_id": "dish", "placeholder": plain("Pick"),
                     "options": [
                         {"text": plain("Pho"), "value": "pho"},
                         {"text": plain("Ramen"), "value": "ramen"},
                     ],
                     "initial_option": {"text": plain("Ramen"), "value": "ramen"}},
                ]},
            ])
        );
    }

    #[test]
    fn modals_and_home_tabs_are_slacks_json() {
        let modal = View::modal("Order")
            .callback_id("order")
            .private_metadata("C1")
            .submit("Send")
            .close("Cancel")
            .block(
                Block::input(
                    "Note",
                    Element::plain_text_input("note")
                        .multiline()
                        .initial_value("none"),
                )
                .block_id("note")
                .optional()
                .hint("Anything"),
            )
            .blocks([
                Block::input("Who", Element::users_select("Someone", "who")),
                Block::input(
                    "When",
                    Element::datepicker("day").initial_date("2025-01-31"),
                ),
            ]);
        let plain = |t: &str| json!({"type": "plain_text", "text": t});
        assert_eq!(
            parse(&modal.to_json()),
            json!({
                "type": "modal", "title": plain("Order"), "callback_id": "order",
                "private_metadata": "C1", "submit": plain("Send"), "close": plain("Cancel"),
                "blocks": [
                    {"type": "input", "block_id": "note", "label": plain("Note"), "optional": true,
                     "hint": plain("Anything"),
                     "element": {"type": "plain_text_input", "action_id": "note", "multiline": true, "initial_value": "none"}},
                    {"type": "input", "label": plain("Who"),
                     "element": {"type": "users_select", "action_id": "who", "placeholder": plain("Someone")}},
                    {"type": "input", "label": plain("When"),
                     "element": {"type": "datepicker", "action_id": "day", "initial_date": "2025-01-31"}},
                ]
            })
        );
        // Slack rejects a view without `blocks`, even an empty one.
        assert_eq!(
            parse(&View::home().to_json()),
            json!({"type": "home", "blocks": []})
        );
    }

    #[test]
    fn submitted_values_are_read_by_block_and_action() {
        let submission = |values: Value| ViewSubmission {
            callback_id: "c".into(),
            view_id: "V1".into(),
            values: values.to_string(),
            private_metadata: String::new(),
            context: crate::InvocationContext {
                user_id: "U1".into(),
                channel_id: "C1".into(),
                trigger_id: None,
            },
        };
        let form = submission(json!({
            "note": {"text": {"type": "plain_text_input", "value": "hi"}},
            "dish": {"pick": {"type": "static_select", "selected_option": {"text": {}, "value": "pho"}}},
            "day": {"when": {"type": "datepicker", "selected_date": "2025-01-31"}},
            "who": {"user": {"type": "users_select", "selected_user": "U2"}},
            "empty": {"text": {"type": "plain_text_input", "value": null}},
        }));
        assert_eq!(form.value("note", "text").as_deref(), Some("hi"));
        assert_eq!(form.value("dish", "pick").as_deref(), Some("pho"));
        assert_eq!(form.value("day", "when").as_deref(), Some("2025-01-31"));
        assert_eq!(form.value("who", "user").as_deref(), Some("U2"));
        assert_eq!(form.value("empty", "text"), None);
        assert_eq!(form.value("note", "other"), None);
        assert_eq!(form.value("missing", "text"), None);
        assert_eq!(
            submission(json!("not an object")).value("note", "text"),
            None
        );
    }
}
