from django.core.management.base import BaseCommand, CommandError, CommandParser

from records.recording.tokens import token_create


class Command(BaseCommand):
    help = (
        "Create a bearer token for POST /api/records. The token is printed once, alone on the "
        "last line; only its SHA-256 hash is stored, so keep it now. Revoke it in the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who will use it, e.g. the agent host (shown in admin).")

    def handle(self, *args, name: str, **options) -> None:
        try:
            token, raw = token_create(name=name)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f'Created API token "{token.name}" (prefix {token.prefix}). It is shown only now; '
            "send it as 'Authorization: Bearer <token>':"
        )
        self.stdout.write(raw)
