"""`/hello [name]` greets you and counts, per user, how often you called it.
The reply carries a button that counts clicks per user and updates the
message with the new count."""

from botyard import App, blocks as b, in_channel, store, update

# The greeting's first word. Kept as one constant so tests can tell versions apart.
GREETING = "Hello"

app = App("hello", "Greets you and counts your calls")


def with_button(text, user):
    return [
        b.section(text),
        b.actions(b.button("Click me", "count", value=user)),
    ]


@app.command("/hello", "Say hello", usage="[name]")
def hello(request):
    user = request.context.user_id
    count = store.increment(f"calls/{user}")
    name = request.text or f"<@{user}>"
    text = f"{GREETING}, {name}! You have said hello {count} time(s)."
    return in_channel(text, with_button(text, user))


@app.action("count")
def count(request):
    user = request.context.user_id
    clicks = store.increment(f"clicks/{user}")
    text = f"<@{user}> clicked {clicks} time(s)."
    return update(text, with_button(text, user))
