//! Test guest: `/feedback` opens a modal asking for a rating from 1 to 5;
//! submitting it either shows an inline error under the `rating` block or
//! posts "Thanks! Rating: N" to the channel the command came from (carried in
//! the view's `private_metadata`) and closes the modal. Used by the
//! end-to-end flow tests (tests/flows.rs).

use botyard_sdk::prelude::*;

const CALLBACK_ID: &str = "feedback";
const RATING_BLOCK: &str = "rating";
const RATING_INPUT: &str = "value";
const RATING_ERROR: &str = "Enter a number from 1 to 5";

fn app() -> App {
    App::new("modal", "Asks for feedback in a modal")
        .command("/feedback", "Rate us from 1 to 5", feedback)
        .view(CALLBACK_ID, submitted)
}

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

/// `/feedback`: opens the modal.
fn feedback(request: CommandRequest) -> Result<(), String> {
    let trigger = request
        .context
        .trigger_id
        .ok_or("no trigger id: cannot open a modal")?;
    slack::open_view(
        &trigger,
        &feedback_view(&request.context.channel_id).to_json(),
    )?;
    Ok(())
}

/// The modal was submitted: thanks in the channel, or an error under the field.
fn submitted(submission: ViewSubmission) -> Result<ViewResponse, String> {
    let rating = submission
        .value(RATING_BLOCK, RATING_INPUT)
        .and_then(|text| text.trim().parse::<u8>().ok())
        .filter(|n| (1..=5).contains(n));
    let Some(rating) = rating else {
        return Ok(ViewResponse::errors([(RATING_BLOCK, RATING_ERROR)]));
    };
    let thanks = Message::new(format!("Thanks! Rating: {rating}"));
    slack::post_message(&submission.private_metadata, &thanks, None)?;
    Ok(ViewResponse::close())
}

export_app!(app);
