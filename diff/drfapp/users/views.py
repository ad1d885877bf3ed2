from rest_framework import viewsets

from .models import User
from .serializers import UserSerializer

LOOKUPS = ["exact", "iexact", "contains", "icontains", "startswith", "istartswith",
           "endswith", "iendswith", "in", "gt", "gte", "lt", "lte"]


class UserViewSet(viewsets.ModelViewSet):
    queryset = User.objects.all()
    serializer_class = UserSerializer
    search_fields = ["username", "email", "phone_number"]
    filterset_fields = {f: LOOKUPS for f in ["username", "email", "phone_number"]}
    ordering_fields = ["id", "username", "email", "date_joined"]
    ordering = ["id"]
