from rest_framework import serializers

from .models import User


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "roles",
            "last_login",
            "username",
            "first_name",
            "last_name",
            "is_active",
            "date_joined",
            "phone_number",
            "email",
        ]
        read_only_fields = ["roles", "last_login", "is_active", "date_joined"]
