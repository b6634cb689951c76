from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard.login import AdminLoginForm, LoginForm, throttled_login

# Both sign-in pages count failed passwords per username and address and refuse (429) after too
# many (dashboard.login). The admin's own login view and form are replaced on the default site
# before its URLs are built (AdminSite.get_urls routes "login/" to self.login).
admin.site.login_form = AdminLoginForm
admin.site.login = throttled_login(admin.site.login)

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        throttled_login(auth_views.LoginView.as_view(authentication_form=LoginForm)),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("records.urls")),
    path("", include("dashboard.urls")),
]
