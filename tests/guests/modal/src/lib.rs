//! Test guest: `/feedback` opens a modal asking for a rating from 1 to 5;
//! submitting it either shows an inline error under the `rating` block or
//! posts "Thanks! Rating: N" to the channel the command came from (carried in
//! the view's `private_metadata`) and closes the modal. Used by the
//! end-to-end flow tests (tests/flows.rs).

use botyard_sdk::prelude::*;

struct Modal;

const CALLBACK_ID: &str = "feedback";
const RATING_BLOCK: &str = "rating";
const RATING_INPUT: &str = "value";
const RATING_ERROR: &str = "Enter a number from 1 to 5";

fn feedback_view(channel: &str) -> View {
    View::modal("Feedback")
        .callback_id(CALLBACK_ID)
        .private_metadata(channel)
        .submit("Send")
        .close("Cancel")
        .block(
            Block::input("Rating (1-5)", Element::plain_text_input(RATING_INPUT))
                .block_id(RATING_BLOCK),
        )
}

impl App for Modal {
    fn describe() -> AppInfo {
        AppInfo::new("modal", "Asks for feedback in a modal").command(
            "/feedback",
            "Rate us from 1 to 5",
            "",
        )
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        if request.command != "/feedback" {
            return Err(format!("unknown command {}", request.command));
        }
        let trigger = request
            .context
            .trigger_id
            .ok_or("no trigger id: cannot open a modal")?;
        slack::open_view(
            &trigger,
            &feedback_view(&request.context.channel_id).to_json(),
        )?;
        Ok(None)
    }

    fn on_view_submission(submission: ViewSubmission) -> Result<ViewResponse, String> {
        if submission.callback_id != CALLBACK_ID {
            return Err(format!("unknown view {}", submission.callback_id));
        }
        let rating = submission
            .value(RATING_BLOCK, RATING_INPUT)
            .and_then(|text| text.trim().parse::<u8>().ok())
            .filter(|n| (1..=5).contains(n));
        let Some(rating) = rating else {
            return Ok(ViewResponse::errors([(RATING_BLOCK, RATING_ERROR)]));
        };
        let thanks = Message::new(format!("Thanks! Rating: {rating}"));
        slack::post_message(&submission.private_metadata, &thanks, None)?;
        Ok(ViewResponse::Close)
    }
}

export_app!(Modal);
