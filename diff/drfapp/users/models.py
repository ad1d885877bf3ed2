"""The original's models. The tables belong to specgate's migrations/0001_users.sql: these
models are unmanaged and `manage.py checkschema` verifies that their columns match."""
from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.Model):
    name = models.CharField(max_length=150, unique=True)

    class Meta:
        managed = False
        db_table = "users_role"

    def __str__(self):
        return self.name


class User(AbstractUser):
    email = models.EmailField(unique=True)
    phone_number = models.CharField(max_length=20, null=True, blank=True)
    roles = models.ManyToManyField(Role, blank=True)

    class Meta:
        managed = False
        db_table = "users_user"
