# The gateway (and the demo model server) as an image, for docker-compose.yml.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
COPY src src
COPY processors processors
RUN mvn -q -B -DskipTests package dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/lib

FROM eclipse-temurin:17-jre
WORKDIR /attest
COPY --from=build /src/target/lib lib
COPY --from=build /src/target/attest-gateway-*.jar lib/
COPY routes routes
COPY policy policy
COPY masking-rules masking-rules
COPY approval-flow approval-flow
COPY approval-templates approval-templates
EXPOSE 8080 8081
ENTRYPOINT ["java", "-cp", "lib/*"]
CMD ["attest.App"]
