"""`/hello [name]` greets you and counts, per user, how often you called it.
The reply carries a button that counts clicks per user and updates the
message with the new count."""

import botyard
from botyard import blocks as b, store

# The greeting's first word. Kept as one constant so tests can tell versions apart.
GREETING = "Hello"


def with_button(text, user):
    return [
        b.section(text),
        b.actions(b.button("Click me", "count", value=user)),
    ]


class Handler(botyard.App):
    name = "hello"
    description = "Greets you and counts your calls"
    commands = [botyard.command("/hello", "Say hello", "[name]")]

    def on_command(self, request):
        user = request.context.user_id
        count = store.increment(f"calls/{user}")
        name = request.text or f"<@{user}>"
        text = f"{GREETING}, {name}! You have said hello {count} time(s)."
        return botyard.in_channel(text, with_button(text, user))

    def on_action(self, request):
        if request.action_id != "count":
            raise botyard.Error(f"unknown action {request.action_id}")
        user = request.context.user_id
        clicks = store.increment(f"clicks/{user}")
        text = f"<@{user}> clicked {clicks} time(s)."
        return botyard.update(text, with_button(text, user))
