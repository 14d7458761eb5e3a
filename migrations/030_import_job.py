"""Peewee migrations -- 030_import_job.py: the import_job table of models.imports.history_import.

Some examples (model - class or model name)::

    > Model = migrator.orm['table_name']            # Return model in current state by name
    > Model = migrator.ModelClass                   # Return model in current state by name

    > migrator.sql(sql)                             # Run custom SQL
    > migrator.run(func, *args, **kwargs)           # Run python function with the given args
    > migrator.create_model(Model)                  # Create a model (could be used as decorator)
    > migrator.remove_model(model, cascade=True)    # Remove a model
    > migrator.add_fields(model, **fields)          # Add fields (allow_not_null=True skips default)
    > migrator.change_fields(model, **fields)       # Change fields
    > migrator.remove_fields(model, *field_names, cascade=True)
    > migrator.rename_field(model, old_field_name, new_field_name)
    > migrator.rename_table(model, new_table_name)
    > migrator.add_index(model, *col_names, unique=False)
    > migrator.add_not_null(model, *field_names)
    > migrator.add_default(model, field_name, default)
    > migrator.add_constraint(model, name, sql)
    > migrator.drop_index(model, *col_names)
    > migrator.drop_not_null(model, *field_names)
    > migrator.drop_constraints(model, *constraints)

"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    
    @migrator.create_model
    class ImportJob(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        status = pw.CharField(default='pending', max_length=16)
        file_name = pw.TextField()
        file_path = pw.TextField()
        file_sha256 = pw.CharField(max_length=64)
        file_size = pw.BigIntegerField(default=0)
        entries_total = pw.IntegerField(default=0)
        entries_done = pw.IntegerField(default=0)
        plays_added = pw.IntegerField(default=0)
        duplicates = pw.IntegerField(default=0)
        unresolved = pw.IntegerField(default=0)
        report = pw.TextField(default='{}')
        error = pw.TextField(null=True)
        resume_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()
        started_at = pw.DateTimeField(null=True)
        updated_at = pw.DateTimeField()
        finished_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "import_job"
            indexes = [(('user', 'created_at'), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('import_job')
