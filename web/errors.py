"""Error pages: every failure a listener can meet ends on a page that says what to do next."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: ("Something in that request was not right", "Please go back and try again."),
    404: ("Not found", "There is nothing here, or it is not yours to see."),
    405: ("Not allowed", "That page does not take this kind of request."),
    413: ("Too large", "That upload is larger than this server accepts."),
    500: ("Something went wrong", "The error was logged. Please try again in a moment."),
}


def render_error(status: int, title: str | None = None, message: str | None = None):
    default_title, default_message = MESSAGES.get(status, MESSAGES[500])
    return render_template(
        "errors/error.html",
        status=status,
        title=title or default_title,
        message=message or default_message,
    ), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_refused(_error):
        return render_error(
            400,
            "This form has expired",
            "The page was open too long or came from another site. Reload it "
            "and submit again; nothing was changed.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code and error.code < 400:
            return error
        return render_error(
            error.code or 500, None, error.description if error.code == 400 else None
        )
