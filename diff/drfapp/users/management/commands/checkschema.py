"""Checks that the unmanaged models match the tables specgate's migrations created:
same columns (no more, no fewer), same types, same nullability."""
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from users.models import Role, User

PG_NAMES = {"varchar": "character varying", "timestamptz": "timestamp with time zone"}


def django_type(field):
    t = field.db_type(connection) or field.rel_db_type(connection)
    if field.is_relation and field.many_to_one:
        t = field.target_field.rel_db_type(connection)
    for short, long in PG_NAMES.items():
        if t.startswith(short + "(") or t == short:
            t = long + t[len(short):]
    return t


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        through = User._meta.get_field("roles").remote_field.through
        problems = []
        with connection.cursor() as cur:
            for model in (User, Role, through):
                table = model._meta.db_table
                cur.execute(
                    """SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
                         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                        WHERE c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped""",
                    [table],
                )
                db_cols = {name: (typ, not notnull) for name, typ, notnull in cur.fetchall()}
                if not db_cols:
                    problems.append(f"{table}: no such table")
                    continue
                model_cols = {
                    f.column: (django_type(f), f.null) for f in model._meta.concrete_fields
                }
                for col in sorted(set(db_cols) | set(model_cols)):
                    if col not in db_cols:
                        problems.append(f"{table}.{col}: in the model, not in the database")
                    elif col not in model_cols:
                        problems.append(f"{table}.{col}: in the database, not in the model")
                    elif db_cols[col] != model_cols[col]:
                        problems.append(
                            f"{table}.{col}: database {db_cols[col]} != model {model_cols[col]}"
                        )
                self.stdout.write(f"{table}: {', '.join(sorted(db_cols))}")
        if problems:
            raise CommandError("schema mismatch:\n  " + "\n  ".join(problems))
        self.stdout.write("schema OK: the models match specgate's tables")
