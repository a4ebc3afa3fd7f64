package dev.duet.wire;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The two JSON mappers of the protocol. Requests a server accepts are read strictly (unknown fields,
 * wrong types and trailing garbage are errors, never coerced); replies a client reads are read
 * leniently so a newer peer can add fields.
 */
public final class Json {
  private Json() {}

  public static final ObjectMapper STRICT =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
          .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
          // A number or boolean where a string belongs is a wrong type, not a string.
          .withCoercionConfig(LogicalType.Textual, c -> c
              .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
              .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
              .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
          .build();

  public static final ObjectMapper LENIENT =
      JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

  /** Reads a request body strictly; throws {@link BadJson} with a message fit for a client. */
  public static <T> T readStrict(byte[] body, Class<T> type) {
    if (body == null || body.length == 0) {
      throw new BadJson("request body is empty; expected a JSON object");
    }
    try {
      T value = STRICT.readValue(body, type);
      if (value == null) throw new BadJson("request body is JSON null; expected an object");
      return value;
    } catch (JsonProcessingException e) {
      throw new BadJson(e.getOriginalMessage());
    } catch (IOException e) {
      throw new BadJson(e.getMessage());
    }
  }

  public static <T> T readLenient(byte[] body, Class<T> type) throws IOException {
    return LENIENT.readValue(body, type);
  }

  public static byte[] write(Object value) {
    try {
      return LENIENT.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String writeString(Object value) {
    try {
      return LENIENT.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A body that is not the JSON the endpoint takes; maps to 400 BAD_JSON. */
  public static final class BadJson extends RuntimeException {
    public BadJson(String message) {
      super(message, null, false, false);
    }
  }
}
