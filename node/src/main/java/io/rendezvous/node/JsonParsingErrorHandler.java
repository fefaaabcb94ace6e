package io.rendezvous.node;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * Pekko HTTP's answer to a request it cannot even parse (a bad request line, a control character in
 * a header, an oversized header), as JSON like every other error: {@code {"error": ...}} with the
 * status Pekko chose. Set as {@code pekko.http.server.parsing.error-handler}.
 */
public final class JsonParsingErrorHandler extends ParsingErrorHandler {
  @Override
  public HttpResponse handle(
      StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    log.warning("Illegal request, responding with status '{}': {}", status, info.formatPretty());
    int code = status.intValue() >= 500 ? 400 : status.intValue();
    return HttpJson.error(code, "request could not be parsed: " + info.summary());
  }
}
