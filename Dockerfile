# syntax=docker/dockerfile:1
# The hypervisor daemon. Build from the repository root:  docker build -t hypervisor .
# Run:   docker run -d --name hypervisor -v hypervisor-logs:/app/logs hypervisor
# Stop:  docker stop --time 40 hypervisor   (SIGTERM; the daemon drains its log within Daemon:ShutdownTimeout = 30 s)

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so the package layer is cached across source edits.
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/HostMemory/HostMemory.csproj src/HostMemory/
COPY src/ShadowMmu/ShadowMmu.csproj src/ShadowMmu/
COPY src/Mirrors/Mirrors.csproj src/Mirrors/
COPY src/GuestModel/GuestModel.csproj src/GuestModel/
COPY src/Host/Host.csproj src/Host/
RUN dotnet restore src/Host/Host.csproj
COPY src/ src/
COPY config/ config/
# The same publish step as the README's; config/ (settings and scenarios) is published next to hypervisor.dll. It
# restores once more for the image's platform: a published Release build is precompiled (ReadyToRun) for it.
RUN dotnet publish src/Host -c Release -o /app

FROM mcr.microsoft.com/dotnet/runtime:10.0
WORKDIR /app
COPY --from=build /app ./
# The log volume must belong to the non-root user before the switch; $APP_UID is the images' "app" user.
RUN mkdir -p /app/logs && chown "$APP_UID" /app/logs
USER $APP_UID
VOLUME ["/app/config", "/app/logs"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "hypervisor.dll", "serve", "--log-dir", "/app/logs"]
