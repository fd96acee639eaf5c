# The gateway (and the demo model server) as an image, for docker-compose.yml. The production image is built
# without Docker: mvn -Pimage package (Jib, target/attest-image.tar; README "Run in production").
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
COPY src src
COPY processors processors
RUN mvn -q -B -DskipTests package dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/lib

FROM eclipse-temurin:17-jre
RUN groupadd --gid 10001 attest \
 && useradd --uid 10001 --gid 10001 --home-dir /attest --no-create-home --shell /usr/sbin/nologin attest
WORKDIR /attest
# the dev keys are generated under .attest/ on first start: the only place the gateway's user may write
RUN mkdir -p /attest/.attest && chown 10001:10001 /attest/.attest
COPY --from=build /src/target/lib lib
COPY --from=build /src/target/attest-gateway-*.jar lib/
COPY routes routes
COPY policy policy
COPY masking-rules masking-rules
COPY approval-flow approval-flow
COPY usage usage
COPY approval-templates approval-templates
EXPOSE 8080 8081
USER 10001:10001
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75.0", "-XX:+ExitOnOutOfMemoryError", "-cp", "lib/*"]
CMD ["attest.App"]
